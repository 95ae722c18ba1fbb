// Runs Node's own EventSource (node --experimental-eventsource) against a URL and prints each message as a JSON line.
// Arguments: URL, then how many messages to receive before closing.
const [url = '', wanted = '0'] = process.argv.slice(2);
// EventSource's reconnection timer does not keep the process alive on its own.
const keepAlive = setInterval(() => undefined, 1_000);
const source = new EventSource(url);
let received = 0;
source.onopen = () => process.stdout.write(`${JSON.stringify({ open: true })}\n`);
source.onmessage = (message: MessageEvent) => {
  process.stdout.write(`${JSON.stringify({ lastEventId: message.lastEventId, data: String(message.data) })}\n`);
  received += 1;
  if (received >= Number(wanted)) {
    source.close();
    clearInterval(keepAlive);
  }
};
