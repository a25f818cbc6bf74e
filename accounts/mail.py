from django.core.mail.backends.console import EmailBackend


class ConsoleEmailBackend(EmailBackend):
    """Django's console backend, but readable: the text as written, not the MIME encoding.

    Django prints the message as it would go over the wire: quoted-printable UTF-8, with
    long links broken over two lines (``=`` at the end) and ``ä`` as ``=C3=A4``. In
    development the console is where people copy invitation links from, so we print the
    headers decoded and the text body as it is; other parts are only named.
    """

    def write_message(self, message):
        lines = [
            f"Subject: {message.subject}",
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
        ]
        if message.cc:
            lines.append(f"Cc: {', '.join(message.cc)}")
        if message.reply_to:
            lines.append(f"Reply-To: {', '.join(message.reply_to)}")
        lines += ["", message.body.rstrip("\n")]
        for alternative in getattr(message, "alternatives", []):
            lines.append(f"[alternative part: {alternative[1]}, {len(alternative[0])} characters]")
        for attachment in message.attachments:
            name = getattr(attachment, "filename", None) or (attachment[0] if isinstance(attachment, tuple) else "")
            lines.append(f"[attachment: {name}]")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.write("-" * 79 + "\n")
