import Foundation
import Testing
@testable import AllauthDomain

/// The mail builder: the RFC 5322 / MIME text a server and a mail client both accept.
struct MIMEMessageTests {
    let created: Int64 = 1_795_000_000
    let messageID = "<0123456789abcdef0123456789abcdef@example.com>"

    func render(subject: String = "Hello", text: String = "Hi.\n", html: String? = nil, from: String = "no-reply@example.com",
                to: String = "alice@example.com") throws -> (mail: ReceivedMail, text: String) {
        let rendered = try MIMEMessage.render(OutgoingMail(kind: "test", from: from, to: to, subject: subject, text: text, html: html),
                                              messageID: messageID, created: created)
        let raw = String(decoding: rendered.bytes, as: UTF8.self)
        return (ReceivedMail(raw), raw)
    }

    func expectWellFormed(_ raw: String) {
        #expect(raw.hasSuffix("\r\n"))
        let bytes = Array(raw.utf8)
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            #expect(index > 0 && bytes[index - 1] == UInt8(ascii: "\r"), "bare LF at byte \(index)")
        }
        for line in raw.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 78, "line of \(line.utf8.count): \(line)")
            #expect(line.utf8.allSatisfy { $0 < 0x80 }, "8-bit line: \(line)")
        }
    }

    @Test func aTextOnlyMailIsOnePlainPartWithTheRequiredHeaders() throws {
        let (mail, raw) = try render()
        expectWellFormed(raw)
        #expect(mail.header("Date") == "Wed, 18 Nov 2026 11:06:40 +0000")
        #expect(mail.header("From") == "no-reply@example.com")
        #expect(mail.header("To") == "alice@example.com")
        #expect(mail.header("Message-ID") == messageID)
        #expect(mail.header("MIME-Version") == "1.0")
        #expect(mail.header("Content-Type") == "text/plain; charset=UTF-8")
        #expect(mail.header("Content-Transfer-Encoding") == "quoted-printable")
        #expect(mail.text == "Hi.\r\n")
        #expect(mail.html == nil)
    }

    @Test func withHTMLItIsMultipartAlternativeTextFirst() throws {
        let (mail, raw) = try render(text: "Plain ünïcode", html: "<p>HTML <b>ünïcode</b> a=b</p>")
        expectWellFormed(raw)
        #expect(mail.header("Content-Type")?.hasPrefix("multipart/alternative; boundary=\"=_") == true)
        #expect(mail.text == "Plain ünïcode")
        #expect(mail.html == "<p>HTML <b>ünïcode</b> a=b</p>")
        #expect(raw.range(of: "text/plain")!.lowerBound < raw.range(of: "text/html")!.lowerBound, "the preferred part comes last")
    }

    @Test func longLinesAreSoftBrokenAndDecodeBackExactly() throws {
        let long = String(repeating: "wörd and a link https://auth.example.com/reset/abcdef0123456789?x=1&y=2 ", count: 12)
        let text = long + "\n\nshort line\n" + String(repeating: "x", count: 1000)
        let (mail, raw) = try render(text: text, html: "<p>" + long + "</p>")
        expectWellFormed(raw)
        #expect(mail.text == text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(mail.html == "<p>" + long + "</p>")
        #expect(mail.link(containing: "/reset/") == "https://auth.example.com/reset/abcdef0123456789?x=1&y=2")
    }

    @Test func nonASCIISubjectsBecomeEncodedWordsWithinTheLineLimit() throws {
        let subject = "Bestätigen Sie Ihre E-Mail-Adresse — 確認してください — ✉️ " + String(repeating: "ß", count: 60)
        let (mail, raw) = try render(subject: subject)
        expectWellFormed(raw)
        #expect(mail.subject == subject)
        #expect(mail.header("Subject")?.hasPrefix("=?UTF-8?B?") == true)
    }

    @Test func longASCIISubjectsAreFoldedAtSpaces() throws {
        let subject = Array(repeating: "Please confirm your e-mail address", count: 5).joined(separator: " ")
        let (mail, raw) = try render(subject: subject)
        expectWellFormed(raw)
        #expect(mail.subject == subject)
        #expect(raw.contains("Subject: Please confirm"))
    }

    @Test func aDotOrFromAtTheStartOfABodyLineIsEncoded() throws {
        let text = ".\n.hidden line\nFrom here on\n" + String(repeating: "a", count: 74) + ".dot after a soft break"
        let (mail, raw) = try render(text: text)
        expectWellFormed(raw)
        for line in raw.components(separatedBy: "\r\n") {
            #expect(!line.hasPrefix("."), "a body line starts with a dot: \(line)")
            #expect(!line.hasPrefix("From "), "a body line starts with From: \(line)")
        }
        #expect(mail.text == text.replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test func trailingWhitespaceSurvivesTransport() throws {
        let (mail, raw) = try render(text: "ends with spaces   \nand a tab\t")
        expectWellFormed(raw)
        #expect(!raw.contains(" \r\n") && !raw.contains("\t\r\n"))
        #expect(mail.text == "ends with spaces   \r\nand a tab\t")
    }

    @Test func lineBreaksInTheSubjectCannotInjectHeaders() throws {
        let (mail, raw) = try render(subject: "Hi\r\nBcc: victim@example.com\nX-Evil: 1")
        #expect(!raw.contains("\r\nBcc:") && !raw.contains("\r\nX-Evil:"))
        #expect(mail.header("Bcc") == nil)
        #expect(mail.subject == "Hi  Bcc: victim@example.com X-Evil: 1")
    }

    @Test func displayNamesAreQuotedOrEncoded() throws {
        #expect(try render(from: "Example Support <help@example.com>").mail.header("From") == "Example Support <help@example.com>")
        #expect(try render(from: "\"Example, Inc.\" <help@example.com>").mail.header("From") == "\"Example, Inc.\" <help@example.com>")
        let encoded = try render(from: "Société Générale <help@example.com>")
        expectWellFormed(encoded.text)
        let from = try #require(encoded.mail.header("From"))
        #expect(from.hasPrefix("=?UTF-8?B?") && from.hasSuffix(" <help@example.com>"))
        #expect(ReceivedMail.decodeWords(from) == "Société Générale <help@example.com>")
    }

    @Test func malformedAddressesAreRefusedForGood() {
        for bad in ["", "alice", "alice@", "@example.com", "alice@example.com\r\nRCPT TO:<x@y>", "a b@example.com", "<alice@example.com>x",
                    "Name <alice@example.com>", "alice@exa\0mple.com"] {
            #expect(throws: MailDeliveryError.self, "\(bad.debugDescription)") { try render(to: bad) }
        }
        #expect(throws: MailDeliveryError.permanent("invalid sender address")) { try render(from: "no sender") }
    }

    @Test func theSameRowRendersTheSameBytesOnARetry() throws {
        let first = try render(text: "Link https://example.com/x", html: "<p>x</p>").text
        let second = try render(text: "Link https://example.com/x", html: "<p>x</p>").text
        #expect(first == second)
    }
}
