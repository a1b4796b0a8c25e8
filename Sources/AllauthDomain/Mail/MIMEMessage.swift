import AllauthCore
import Crypto
import Foundation

/// One mail as bytes on the wire, with what the SMTP envelope needs beside them.
public struct EncodedMail: Sendable {
    public var messageID: String
    public var sender: MailAddress
    public var recipient: MailAddress
    public var bytes: [UInt8]
}

/// Builds the RFC 5322 / MIME (RFC 2045–2047) text of a mail: Date, From, To, Subject, Message-ID,
/// MIME-Version; a text part alone, or multipart/alternative text + HTML; UTF-8 bodies in
/// quoted-printable; non-ASCII subjects and display names as RFC 2047 encoded words; CRLF line
/// ends and no line longer than 78 characters (998 for a single unbreakable word).
/// The output depends only on its inputs, so a retry after a crash sends the same bytes.
public enum MIMEMessage {
    static let lineLimit = 78

    public static func render(_ mail: OutgoingMail, messageID: String, created: Int64) throws(MailDeliveryError) -> EncodedMail {
        guard let sender = MailAddress(mail.from) else { throw .permanent("invalid sender address") }
        guard let recipient = MailAddress(mail.to), recipient.displayName == nil else { throw .permanent("invalid recipient address") }
        guard messageID.hasPrefix("<"), messageID.hasSuffix(">"), messageID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .permanent("invalid Message-ID")
        }
        var lines = [
            header("Date", [HTTPDate.rfc5322(created)]),
            header("From", mailbox(sender)),
            header("To", [recipient.address]),
            header("Subject", unstructured(mail.subject)),
            header("Message-ID", [messageID]),
            "MIME-Version: 1.0",
        ]
        if let html = mail.html {
            // "=_" never occurs in quoted-printable output (a literal "=" is always "=3D"), so
            // the boundary cannot collide with a body; derived from the Message-ID to stay stable.
            let digest = SHA256.hash(data: Data(messageID.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
            let boundary = "=_\(digest)"
            lines.append(header("Content-Type", ["multipart/alternative;", "boundary=\"\(boundary)\""]))
            lines.append("")
            for (subtype, body) in [("plain", mail.text), ("html", html)] {
                lines.append("--\(boundary)")
                lines.append(contentsOf: part(subtype: subtype, body: body))
            }
            lines.append("--\(boundary)--")
        } else {
            lines.append(contentsOf: part(subtype: "plain", body: mail.text))
        }
        let text = lines.joined(separator: "\r\n") + "\r\n"
        return EncodedMail(messageID: messageID, sender: sender, recipient: recipient, bytes: Array(text.utf8))
    }

    private static func part(subtype: String, body: String) -> [String] {
        ["Content-Type: text/\(subtype); charset=UTF-8", "Content-Transfer-Encoding: quoted-printable", "", quotedPrintable(body)]
    }

    // MARK: headers

    /// `Name: token token …`, folded (CRLF + space) between tokens so that each line stays within
    /// 78 characters; unfolding restores the single spaces.
    static func header(_ name: String, _ tokens: [String]) -> String {
        var lines: [String] = []
        var line = "\(name):"
        var tokensOnLine = 0
        for token in tokens {
            if tokensOnLine > 0 && line.utf8.count + 1 + token.utf8.count > lineLimit {
                lines.append(line)
                line = ""
                tokensOnLine = 0
            }
            line += " " + token
            tokensOnLine += 1
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// A free-text header value (Subject): plain words when it is printable ASCII, else RFC 2047
    /// encoded words. Line breaks and control characters become spaces, so nothing can be injected.
    static func unstructured(_ text: String) -> [String] {
        let clean = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
        let plain = clean.unicodeScalars.allSatisfy { $0.isASCII } && !clean.contains("=?")
        let words = clean.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if plain && words.allSatisfy({ $0.utf8.count <= lineLimit - 10 }) { return words }
        return encodedWords(clean)
    }

    /// `From`: the address alone, or a display name (quoted or encoded) and `<address>`.
    static func mailbox(_ address: MailAddress) -> [String] {
        guard let name = address.displayName else { return [address.address] }
        let specials = Set("()<>[]:;@\\,.\"")
        let phrase: [String]
        if name.unicodeScalars.allSatisfy({ $0.isASCII }) && !name.contains("=?") && name.utf8.count <= lineLimit - 10 {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            phrase = [name.contains(where: { specials.contains($0) }) ? "\"\(escaped)\"" : name]
        } else {
            phrase = encodedWords(name)
        }
        return phrase + ["<\(address.address)>"]
    }

    /// `=?UTF-8?B?…?=` words of at most 39 bytes of text each (64 characters: with "Subject: "
    /// in front still within 78), split between Unicode scalars, never inside one.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
            chunk = []
        }
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 { flush() }
            chunk += bytes
        }
        flush()
        return words.isEmpty ? ["=?UTF-8?B??="] : words
    }

    // MARK: bodies

    /// RFC 2045 §6.7 quoted-printable with CRLF line ends and soft breaks at 76 characters. A dot
    /// or "From " at the start of a line is encoded too, so no SMTP server or mbox reader can
    /// mistake a body line for the end of the data or a message separator.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var current = ""
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                var piece: String
                switch byte {
                case 0x20, 0x09: piece = isLast ? hex(byte) : String(UnicodeScalar(byte))
                case 0x3D: piece = hex(byte)
                case 33...126: piece = String(UnicodeScalar(byte))
                default: piece = hex(byte)
                }
                if current.utf8.count + piece.utf8.count > 75 {
                    output.append(current + "=")
                    current = ""
                }
                if current.isEmpty && (byte == UInt8(ascii: ".") || (byte == UInt8(ascii: "F") && bytes[index...].starts(with: Array("From ".utf8)))) {
                    piece = hex(byte)
                }
                current += piece
            }
            output.append(current)
        }
        return output.joined(separator: "\r\n")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "=\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0f)])"
    }
}
