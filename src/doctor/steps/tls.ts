import { isIP } from "node:net";
import { connect, type ConnectionOptions, type PeerCertificate } from "node:tls";
import { HTTPS_PORT } from "../../config/broker.ts";
import { AWS_IOT_MQTT_ALPN } from "../../transport/client-options.ts";
import { failed, passed, withTimeout, type DoctorContext, type StepResult } from "../types.ts";

const CHAIN_ERRORS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
]);

/** Returns the next step for a failed handshake, by the error code of the TLS library. */
function tlsHint(code: string | undefined, context: DoctorContext): string {
  if (code && CHAIN_ERRORS.has(code)) {
    return context.config.tls.ca
      ? `The broker's certificate was not signed by the CA in ${context.config.tls.ca}. Use the CA that issued it (for AWS IoT Core: Amazon Root CA 1), or leave --ca out to use the system's root certificates.`
      : "The broker's certificate is not signed by a root certificate this machine trusts. Pass the broker's CA with --ca.";
  }
  if (code === "CERT_HAS_EXPIRED") return "The broker's certificate has expired, or this machine's clock is wrong: check the date first.";
  if (code === "CERT_NOT_YET_VALID") return "The broker's certificate is not valid yet: this machine's clock is probably behind.";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") {
    return `The broker's certificate is not issued for ${context.config.broker.host}. Use the host name the certificate names in --broker.`;
  }
  return "The broker ended the handshake: it may have rejected the client certificate (not registered, inactive, or from another CA). ven certs check shows the certificate's issuer and fingerprint.";
}

/** Describes the broker's certificate in a few words. */
function describePeer(peer: PeerCertificate): string {
  const subject = peer.subject?.CN ?? "?";
  const issuer = peer.issuer?.CN ?? peer.issuer?.O ?? "?";
  return `server certificate CN=${subject} from ${issuer}, valid until ${new Date(peer.valid_to).toISOString()}`;
}

/**
 * Runs a TLS handshake like the MQTT connection's: the configured CA and client certificate,
 * the host name as server name, and on port 443 the ALPN protocol AWS IoT Core requires.
 */
export async function checkTls(context: DoctorContext): Promise<StepResult> {
  const { broker } = context.config;
  if (broker.protocol !== "mqtts") return passed("tls", `${broker.url} is plain MQTT: no TLS`);
  const useAlpn = broker.port === HTTPS_PORT && context.config.auth === "mtls";
  const options: ConnectionOptions = {
    host: context.addresses[0]!,
    port: broker.port,
    rejectUnauthorized: !context.config.tls.insecure,
    minVersion: "TLSv1.2",
    ...(isIP(broker.host) ? {} : { servername: broker.host }),
    ...(context.tls.ca ? { ca: context.tls.ca } : {}),
    ...(context.config.auth === "mtls" && context.tls.cert ? { cert: context.tls.cert, key: context.tls.key } : {}),
    ...(useAlpn ? { ALPNProtocols: [AWS_IOT_MQTT_ALPN] } : {}),
  };
  let summary: { peer: PeerCertificate; alpn: string | false | null | undefined; protocol: string | null };
  try {
    summary = await withTimeout(
      new Promise((resolve, reject) => {
        const socket = connect(options, () => {
          const result = { peer: socket.getPeerCertificate(), alpn: socket.alpnProtocol, protocol: socket.getProtocol() };
          socket.destroy();
          resolve(result);
        });
        socket.once("error", (error) => {
          socket.destroy();
          reject(error);
        });
      }),
      context.timeoutMs,
      `TLS handshake with ${broker.host}:${broker.port}`,
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    return failed("tls", `TLS handshake with ${broker.host}:${broker.port} failed: ${(error as Error).message}${code ? ` (${code})` : ""}`, tlsHint(code, context));
  }
  if (useAlpn && summary.alpn !== AWS_IOT_MQTT_ALPN) {
    return failed("tls", `The broker on port 443 did not accept the ALPN protocol ${AWS_IOT_MQTT_ALPN}`, "Port 443 carries MQTT with a client certificate only on AWS IoT Core. For another broker, use its MQTT port (usually 8883).");
  }
  const alpn = useAlpn ? `, ALPN ${AWS_IOT_MQTT_ALPN}` : "";
  return passed("tls", `${summary.protocol ?? "TLS"}${alpn}, ${describePeer(summary.peer)}`);
}
