/** AWS credentials as the SDK's providers return them. Secret: never logged. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export type AwsCredentialProvider = () => Promise<AwsCredentials>;

/** What a presigned AWS IoT WebSocket URL is made from. */
export interface PresignRequest {
  host: string;
  port: number;
  region: string;
  credentials: AwsCredentials;
  /** Signing time in milliseconds since the Unix epoch. */
  nowMs: number;
  /** How long the URL may be used to open a connection, in seconds. */
  expiresS?: number;
}

/** AWS IoT's name for its MQTT data plane in SigV4 credential scopes. */
export const IOT_SIGNING_SERVICE = "iotdevicegateway";
export const IOT_WEBSOCKET_PATH = "/mqtt";
const DEFAULT_EXPIRES_S = 300;

/**
 * Returns a `wss://HOST/mqtt?X-Amz-...` URL signed with SigV4 in the query string (service
 * `iotdevicegateway`, signed header `host`, hash of an empty payload). AWS IoT does not include a
 * session token in the signature: for temporary credentials the token is appended as
 * X-Amz-Security-Token after signing, as the AWS IoT developer guide describes for MQTT over
 * WebSocket.
 */
export async function presignIotWebSocketUrl(request: PresignRequest): Promise<string> {
  const [{ SignatureV4 }, { Hash }] = await Promise.all([import("@smithy/signature-v4"), import("@smithy/hash-node")]);
  const { sessionToken, ...longTerm } = request.credentials;
  const signer = new SignatureV4({
    service: IOT_SIGNING_SERVICE,
    region: request.region,
    credentials: { accessKeyId: longTerm.accessKeyId, secretAccessKey: longTerm.secretAccessKey },
    sha256: Hash.bind(null, "sha256"),
  });
  const hostHeader = request.port === 443 ? request.host : `${request.host}:${request.port}`;
  const signed = await signer.presign(
    { method: "GET", protocol: "https:", hostname: request.host, port: request.port, path: IOT_WEBSOCKET_PATH, query: {}, headers: { host: hostHeader } },
    { signingDate: new Date(request.nowMs), expiresIn: request.expiresS ?? DEFAULT_EXPIRES_S },
  );
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(signed.query ?? {})) {
    if (typeof value === "string") query.set(name, value);
  }
  if (sessionToken) query.set("X-Amz-Security-Token", sessionToken);
  return `wss://${hostHeader}${IOT_WEBSOCKET_PATH}?${query.toString()}`;
}

/**
 * Returns the SDK's default credential chain: environment, shared config and credentials files
 * with profiles, SSO, web identity, and the container and instance metadata services. The
 * provider caches credentials and refreshes them before they expire.
 */
export async function defaultCredentialProvider(): Promise<AwsCredentialProvider> {
  const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
  return defaultProvider();
}
