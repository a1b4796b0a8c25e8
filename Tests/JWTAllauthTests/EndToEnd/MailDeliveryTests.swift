import Foundation
import Testing
@testable import AllauthHTTP

#if canImport(Glibc)
import Glibc
#endif

/// The pool's mail process delivers the outbox: over SMTP to a real server on loopback, or as
/// `.eml` files for the local instance.
@Suite(.serialized)
struct MailDeliveryTests {
    static let fastPolling = ["JWT_ALLAUTH_MAIL_POLL_INTERVAL": "0.1"]

    @Test func queuedMailIsDeliveredOverSMTPByThePoolsMailProcess() throws {
        let sink = try SMTPSink()
        let instance = try TestInstance(environment: sink.environment.merging(Self.fastPolling) { $1 })
        #expect(instance.mailerPID != nil)
        let id = try instance.enqueueMail(to: "alice@example.com", subject: "Confirm your address",
                                          text: "Hi Alice,\nopen https://auth.example.com/confirm/tok123 to confirm.\n",
                                          html: "<p>Hi Alice, <a href=\"https://auth.example.com/confirm/tok123\">confirm</a></p>")
        let mail = try #require(try sink.waitForMessages(1).first)
        let row = try #require(try instance.outboxRow(id))
        #expect(mail.messageID == row.messageID)
        #expect(mail.envelopeFrom == "no-reply@example.com")
        #expect(mail.envelopeTo == "alice@example.com")
        #expect(mail.header("From") == "Service <no-reply@example.com>")
        #expect(mail.header("To") == "alice@example.com")
        #expect(mail.subject == "Confirm your address")
        #expect(mail.header("MIME-Version") == "1.0")
        #expect(mail.header("Date") != nil)
        #expect(mail.link(containing: "/confirm/") == "https://auth.example.com/confirm/tok123")
        #expect(mail.html?.contains("<a href=\"https://auth.example.com/confirm/tok123\">") == true)
        #expect(try instance.eventually { try instance.outboxRow(id)?.sentAt != nil })
        let sent = try #require(try instance.outboxRow(id))
        #expect(sent.attempts == 1 && sent.textBody.isEmpty && sent.failedAt == nil, "bodies cleared once sent")
        #expect(try instance.database().first("SELECT html_body IS NULL FROM outbox WHERE id = ?", [.integer(id)]) { $0.bool(0) } == true)
        #expect(instance.eventually { instance.log.contains("mail sent") })
        #expect(!instance.log.contains("tok123"), "no link in the log")
    }

    @Test func aMalformedRecipientFailsAtOnceWithoutBlockingTheQueue() throws {
        let sink = try SMTPSink()
        let instance = try TestInstance(environment: sink.environment.merging(Self.fastPolling) { $1 })
        let bad = try instance.enqueueMail(to: "not an address\r\nRCPT TO:<victim@example.com>")
        let good = try instance.enqueueMail(to: "carol@example.com")
        let mail = try #require(try sink.waitForMessages(1).first)
        #expect(mail.envelopeTo == "carol@example.com")
        #expect(try mail.messageID == instance.outboxRow(good)?.messageID)
        #expect(try instance.eventually { try instance.outboxRow(bad)?.failedAt != nil })
        let failed = try #require(try instance.outboxRow(bad))
        #expect(failed.attempts == 1 && failed.lastError == "invalid recipient address" && failed.sentAt == nil)
        usleep(500_000)
        #expect(sink.messages.count == 1, "nothing went to the injected recipient")
    }

    @Test func theLocalInstanceWritesEachMailAsAnEmlFile() throws {
        let instance = try TestInstance(environment: Self.fastPolling)
        let id = try instance.enqueueMail(to: "bob@example.com", subject: "Grüße aus Zürich")
        let directory = instance.directory.appendingPathComponent("mail")
        var files: [String] = []
        #expect(try instance.eventually {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }
            return !files.isEmpty
        })
        let file = try #require(files.first)
        let mail = ReceivedMail(try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
        #expect(mail.subject == "Grüße aus Zürich")
        #expect(try mail.messageID == instance.outboxRow(id)?.messageID)
        #expect(mail.link(containing: "/confirm/") == "https://example.com/confirm/abc")
        #expect(try instance.eventually { try instance.outboxRow(id)?.sentAt != nil })
    }

    @Test func aReloadRestartsTheMailProcessWithTheNewConfiguration() throws {
        let sink = try SMTPSink()
        let instance = try TestInstance(environment: Self.fastPolling)
        let before = try #require(instance.mailerPID)
        // From the local mail directory to the SMTP server, by editing the file and sending HUP.
        let config = try String(contentsOfFile: instance.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "transport: directory", with: "transport: smtp\n  smtp_port: \(sink.port)")
            .write(toFile: instance.configPath, atomically: true, encoding: .utf8)
        kill(try #require(instance.masterPID), SIGHUP)
        #expect(instance.eventually { instance.mailerPID.map { $0 != before } ?? false }, "a new mail process")
        let id = try instance.enqueueMail(to: "reload@example.com")
        let mail = try #require(try sink.waitForMessages(1).first)
        #expect(try mail.messageID == instance.outboxRow(id)?.messageID)
        #expect(instance.log.contains("mailer exited"))
    }
}
