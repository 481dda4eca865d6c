import { awsCallError } from "./errors.ts";

/**
 * Asks AWS IoT for the account's `iot:Data-ATS` endpoint (DescribeEndpoint) with the default
 * credential chain. The endpoint of the call itself comes from the SDK's settings, including
 * AWS_ENDPOINT_URL_IOT and AWS_ENDPOINT_URL.
 */
export async function describeDataEndpoint(region: string | undefined): Promise<string> {
  const { IoTClient, DescribeEndpointCommand } = await import("@aws-sdk/client-iot");
  const client = new IoTClient(region ? { region } : {});
  try {
    const output = await client.send(new DescribeEndpointCommand({ endpointType: "iot:Data-ATS" }));
    if (!output.endpointAddress) {
      throw awsCallError("find the AWS IoT endpoint", { name: "EmptyResponse", message: "DescribeEndpoint returned no endpointAddress" });
    }
    return output.endpointAddress;
  } catch (error) {
    if (error instanceof Error && error.name === "VenError") throw error;
    throw awsCallError("find the AWS IoT endpoint (DescribeEndpoint)", error);
  } finally {
    client.destroy();
  }
}
