"""An SMTP sink for the email tests (aiosmtpd).

Usage: smtp_sink.py PORT DIR [DELAY_FIRST_SECS]

Listens on 127.0.0.1:PORT; every message it accepts is written to DIR as N.eml (the
raw bytes) and N.json (parsed with Python's `email` package: from, to, reply_to,
subject, message_id, text and html parts, and the attachments, each saved as
N-K.bin with its filename, type, disposition and Content-ID). With DELAY_FIRST_SECS, the first MAIL FROM waits
that long before answering (the crash test kills the sender meanwhile, so that
attempt never transfers its message). Prints "ready" once listening.
"""

import asyncio
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, delay_first):
        self.directory = directory
        self.delay_first = delay_first
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.delay_first > 0:
            delay, self.delay_first = self.delay_first, 0
            open(os.path.join(self.directory, "delayed"), "w").close()
            await asyncio.sleep(delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.content)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        attachments = []
        for part in message.walk():
            if part.is_multipart() or part.get_content_disposition() not in ("attachment", "inline"):
                continue
            data = part.get_payload(decode=True) or b""
            path = f"{base}-{len(attachments) + 1}.bin"
            with open(path, "wb") as f:
                f.write(data)
            attachments.append({
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "disposition": part.get_content_disposition(),
                "content_id": part["Content-ID"] and str(part["Content-ID"]),
                "size": len(data),
                "path": path,
            })
        parsed = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "reply_to": message["Reply-To"] and str(message["Reply-To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "attachments": attachments,
        }
        # Write the JSON last and atomically: its presence means the message is whole.
        with open(base + ".json.tmp", "w") as f:
            json.dump(parsed, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    delay_first = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    controller = Controller(Sink(directory, delay_first), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        # Stop when the test closes our stdin (or dies).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
