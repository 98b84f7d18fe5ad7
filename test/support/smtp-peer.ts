/**
 * A real SMTP server on loopback (the `smtp-server` package) that keeps every mail it
 * receives: the peer nodemailer talks to in the notifier's e-mail tests.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One mail as received. */
export interface Mail {
  from: string;
  to: string[];
  /** The whole message, headers unfolded so that a long subject reads as one line. */
  raw: string;
}

export interface SmtpPeer {
  /** `smtp://127.0.0.1:<port>` for FLEET_SMTP_URL. */
  url: string;
  mails: Mail[];
  close(): Promise<void>;
}

/** Starts the SMTP server on a free port of 127.0.0.1. */
export async function startSmtp(): Promise<SmtpPeer> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks)
            .toString('utf8')
            .replace(/\r?\n[ \t]+/g, ' '),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
