import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { connect, type Socket } from "node:net";
import { parseAmzDate, TEST_CREDENTIALS } from "./fake-aws.ts";
import type { TestPki } from "./pki.ts";

/** One WebSocket upgrade request the fake saw. */
export interface PresignCheck {
  signatureValid: boolean;
  service: string | undefined;
  region: string | undefined;
  sessionToken: string | undefined;
  subprotocol: string | null;
}

export interface FakeIotWebSocket {
  readonly port: number;
  readonly checks: PresignCheck[];
  close(): Promise<void>;
}

/**
 * Checks a presigned URL the way AWS IoT does: signs GET /mqtt again with the SDK's signer, the
 * test credentials and the date, scope and expiry from the URL, leaving the session token out of
 * the signature, and compares the result with X-Amz-Signature.
 */
async function checkPresignedUrl(url: URL, host: string): Promise<Omit<PresignCheck, "subprotocol">> {
  const query = url.searchParams;
  const credential = (query.get("X-Amz-Credential") ?? "").split("/");
  const [accessKeyId, , region, service] = credential;
  const sessionToken = query.get("X-Amz-Security-Token") ?? undefined;
  const base = { service, region, sessionToken };
  const amzDate = query.get("X-Amz-Date");
  if (accessKeyId !== TEST_CREDENTIALS.accessKeyId || !amzDate || !region || !service || url.pathname !== "/mqtt") return { ...base, signatureValid: false };
  const signer = new SignatureV4({ service, region, credentials: { ...TEST_CREDENTIALS }, sha256: Hash.bind(null, "sha256") });
  const expected = await signer.presign(
    { method: "GET", protocol: "https:", hostname: url.hostname, path: url.pathname, query: {}, headers: { host } },
    { signingDate: parseAmzDate(amzDate), expiresIn: Number(query.get("X-Amz-Expires") ?? "0") },
  );
  return { ...base, signatureValid: expected.query?.["X-Amz-Signature"] === query.get("X-Amz-Signature") };
}

interface Bridge {
  tcp: Socket;
}

/**
 * A local stand-in for AWS IoT Core's MQTT over WebSocket endpoint: TLS with the test PKI's server
 * certificate on 127.0.0.1, accepting only upgrades whose presigned URL checks out, and bridging
 * each accepted WebSocket to the plain MQTT port `brokerPort` on 127.0.0.1.
 */
export async function startFakeIotWebSocket(pki: TestPki, brokerPort: number): Promise<FakeIotWebSocket> {
  const checks: PresignCheck[] = [];
  const server = Bun.serve<Bridge, never>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { key: pki.pem.serverKey, cert: pki.pem.serverCert },
    async fetch(request, bunServer) {
      const url = new URL(request.url);
      const check = await checkPresignedUrl(url, request.headers.get("host") ?? "");
      const subprotocol = request.headers.get("sec-websocket-protocol");
      checks.push({ ...check, subprotocol });
      if (!check.signatureValid || check.service !== "iotdevicegateway") return new Response("Forbidden", { status: 403 });
      const tcp = connect({ host: "127.0.0.1", port: brokerPort });
      if (bunServer.upgrade(request, { data: { tcp }, headers: { "Sec-WebSocket-Protocol": "mqtt" } })) return undefined;
      tcp.destroy();
      return new Response("Upgrade failed", { status: 400 });
    },
    websocket: {
      open(ws) {
        ws.data.tcp.on("data", (chunk: Buffer) => ws.sendBinary(chunk));
        ws.data.tcp.on("close", () => ws.close());
        ws.data.tcp.on("error", () => ws.close());
      },
      message(ws, message) {
        ws.data.tcp.write(typeof message === "string" ? Buffer.from(message) : message);
      },
      close(ws) {
        ws.data.tcp.destroy();
      },
    },
  });
  return {
    port: server.port!,
    checks,
    async close() {
      await server.stop(true);
    },
  };
}
