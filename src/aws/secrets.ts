import { awsCallError } from "./errors.ts";

/**
 * Reads the text of a Secrets Manager secret with the default credential chain. The client is
 * imported here, so commands that never call this do not load the AWS SDK. The endpoint comes
 * from the SDK's own settings, including AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL.
 */
export async function readSecretString(secretId: string, region: string | undefined): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const client = new SecretsManagerClient(region ? { region } : {});
  try {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (output.SecretString === undefined) {
      throw awsCallError(`read the secret ${secretId}`, { name: "UnexpectedSecretFormat", message: "the secret has no text value (SecretString); a binary secret cannot hold the PEM files" });
    }
    return output.SecretString;
  } catch (error) {
    if (error instanceof Error && error.name === "VenError") throw error;
    throw awsCallError(`read the secret ${secretId}`, error);
  } finally {
    client.destroy();
  }
}
