import { ExitCode, VenError } from "../errors.ts";

/** The parts of an AWS SDK error that explain it: its name, message and HTTP status. */
interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIALS_HINT =
  "Give AWS credentials the usual way: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/config, or aws sso login. A site device usually has none; fetch certificates and the endpoint on a workstation or in a container instead.";

/**
 * Turns an error from an AWS SDK call into a VenError that names the call, the AWS error and the
 * next step. `action` reads like "read the secret dev-volttron-tls".
 */
export function awsCallError(action: string, error: unknown): VenError {
  const shape = (typeof error === "object" && error !== null ? error : {}) as SdkErrorShape;
  const name = shape.name ?? "Error";
  const message = shape.message ?? String(error);
  const status = shape.$metadata?.httpStatusCode;
  const detail = `${name}${status ? ` (HTTP ${status})` : ""}: ${message}`;

  if (name === "CredentialsProviderError" || /credential/i.test(name) || /Could not load credentials/i.test(message)) {
    return new VenError(ExitCode.failed, `Cannot ${action}: no AWS credentials found (${message})`, { hint: CREDENTIALS_HINT, cause: error });
  }
  if (/region/i.test(message) && /missing|not configured/i.test(message)) {
    return new VenError(ExitCode.usage, `Cannot ${action}: no AWS region is set`, { hint: "Pass --region eu-west-1, or set AWS_REGION.", cause: error });
  }
  if (name === "ResourceNotFoundException") {
    return new VenError(ExitCode.failed, `Cannot ${action}: ${detail}`, { hint: "Check the name and the region (--region or AWS_REGION).", cause: error });
  }
  if (name === "AccessDeniedException" || name === "UnauthorizedException" || status === 403) {
    return new VenError(ExitCode.failed, `Cannot ${action}: access denied. ${detail}`, {
      hint: "The IAM identity in use needs permission for this call; `aws sts get-caller-identity` shows which identity that is.",
      cause: error,
    });
  }
  return new VenError(ExitCode.failed, `Cannot ${action}: ${detail}`, { cause: error });
}
