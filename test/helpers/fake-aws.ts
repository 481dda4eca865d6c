import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir, removeTempDir } from "./tempdirs.ts";

/** Fixed credentials that the fakes accept. They are not real AWS credentials. */
export const TEST_CREDENTIALS = {
  accessKeyId: "AKIAVENTESTEXAMPLE01",
  secretAccessKey: "ven-test-secret-key-not-a-real-one/0123456",
} as const;
export const TEST_REGION = "eu-west-1";

const HOST = "127.0.0.1";

/** One request the fake saw, with the outcome of its signature check. */
export interface FakeAwsRequest {
  /** `secretsmanager.GetSecretValue` or `iot.DescribeEndpoint`, or the path for anything else. */
  operation: string;
  /** The service named in the credential scope, e.g. `secretsmanager`. */
  signingService: string | undefined;
  signatureValid: boolean;
}

export interface FakeAwsOptions {
  /** Secret texts by secret id. */
  secrets?: Record<string, string>;
  /** The host name returned by DescribeEndpoint for iot:Data-ATS. */
  iotEndpoint?: string;
}

export interface FakeAws {
  readonly url: string;
  readonly requests: FakeAwsRequest[];
  close(): Promise<void>;
}

interface SignatureParts {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string | null): SignatureParts | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match) return undefined;
  return { accessKeyId: match[1]!, date: match[2]!, region: match[3]!, service: match[4]!, signedHeaders: match[5]!.split(";"), signature: match[6]! };
}

/** Parses `YYYYMMDDTHHMMSSZ`, the form of X-Amz-Date. */
export function parseAmzDate(text: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new Error(`invalid X-Amz-Date ${text}`);
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
}

/**
 * Checks a request's Authorization header by signing the same request again with the SDK's own
 * signer and the test credentials. Only the headers the client signed take part.
 */
async function signatureMatches(request: Request, body: string): Promise<{ valid: boolean; service: string | undefined }> {
  const parts = parseAuthorization(request.headers.get("authorization"));
  if (!parts || parts.accessKeyId !== TEST_CREDENTIALS.accessKeyId) return { valid: false, service: parts?.service };
  const amzDate = request.headers.get("x-amz-date");
  if (!amzDate) return { valid: false, service: parts.service };
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const name of parts.signedHeaders) headers[name] = request.headers.get(name) ?? "";
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const signer = new SignatureV4({ service: parts.service, region: parts.region, credentials: { ...TEST_CREDENTIALS }, sha256: Hash.bind(null, "sha256") });
  const signed = await signer.sign(
    { method: request.method, protocol: "http:", hostname: url.hostname, path: url.pathname, query, headers, body: body.length > 0 ? body : undefined },
    { signingDate: parseAmzDate(amzDate) },
  );
  const expected = parseAuthorization(String(signed.headers.authorization ?? signed.headers.Authorization));
  return { valid: expected?.signature === parts.signature, service: parts.service };
}

function errorResponse(status: number, type: string, message: string): Response {
  return new Response(JSON.stringify({ __type: type, message }), {
    status,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type },
  });
}

/**
 * A local fake of the two AWS JSON APIs that ven calls: Secrets Manager GetSecretValue and AWS IoT
 * DescribeEndpoint, on 127.0.0.1. It answers only requests whose SigV4 signature matches
 * TEST_CREDENTIALS. Reach it through AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_IOT.
 */
export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const requests: FakeAwsRequest[] = [];
  const server = Bun.serve({
    hostname: HOST,
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const body = await request.text();
      const target = request.headers.get("x-amz-target");
      const operation = target ?? (url.pathname === "/endpoint" ? "iot.DescribeEndpoint" : url.pathname);
      const { valid, service } = await signatureMatches(request, body);
      requests.push({ operation, signingService: service, signatureValid: valid });
      if (!valid) return errorResponse(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.");

      if (target === "secretsmanager.GetSecretValue") {
        const secretId = (JSON.parse(body) as { SecretId?: string }).SecretId ?? "";
        const text = options.secrets?.[secretId];
        if (text === undefined) return errorResponse(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
        const arn = `arn:aws:secretsmanager:${TEST_REGION}:123456789012:secret:${secretId}-AbCdEf`;
        return Response.json({ ARN: arn, Name: secretId, SecretString: text, VersionId: "v1", VersionStages: ["AWSCURRENT"], CreatedDate: 1764849985 });
      }
      if (request.method === "GET" && url.pathname === "/endpoint") {
        if (url.searchParams.get("endpointType") !== "iot:Data-ATS" || !options.iotEndpoint) {
          return errorResponse(400, "InvalidRequestException", `unexpected endpointType ${url.searchParams.get("endpointType")}`);
        }
        return Response.json({ endpointAddress: options.iotEndpoint });
      }
      return errorResponse(400, "UnknownOperationException", `unknown operation ${operation}`);
    },
  });
  return {
    url: `http://${HOST}:${server.port}`,
    requests,
    async close() {
      await server.stop(true);
    },
  };
}

/** Environment of a test that touches the AWS SDK, and how to undo it. */
export interface AwsTestEnvironment {
  /** The variables, to pass as a command's environment too. */
  env: Record<string, string>;
  /** Puts process.env back as it was. */
  restore(): Promise<void>;
}

const AWS_VARIABLES_TO_CLEAR = ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"];

/**
 * Sets process.env for a test that touches the AWS SDK, which reads the process environment: the
 * instance metadata service is off, the credentials are TEST_CREDENTIALS, HOME and the shared
 * config files point into an empty temporary folder, and every AWS endpoint is `endpointUrl`
 * (the fake on 127.0.0.1), so no request can leave this machine.
 */
export async function useAwsTestEnvironment(endpointUrl: string, extra: Record<string, string> = {}): Promise<AwsTestEnvironment> {
  const home = await makeTempDir("ven-aws-home-");
  await mkdir(join(home, ".aws"));
  const env: Record<string, string> = {
    HOME: home,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(home, ".aws", "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, ".aws", "credentials"),
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: TEST_REGION,
    AWS_ENDPOINT_URL: endpointUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpointUrl,
    AWS_ENDPOINT_URL_IOT: endpointUrl,
    ...extra,
  };
  const saved = new Map<string, string | undefined>();
  for (const name of [...Object.keys(env), ...AWS_VARIABLES_TO_CLEAR]) saved.set(name, process.env[name]);
  for (const name of AWS_VARIABLES_TO_CLEAR) delete process.env[name];
  Object.assign(process.env, env);
  return {
    env,
    async restore() {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await removeTempDir(home);
    },
  };
}
