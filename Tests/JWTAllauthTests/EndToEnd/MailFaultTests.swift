import Foundation
import Testing
@testable import AllauthCore

#if canImport(Glibc)
import Glibc
#endif

/// Mail survives faults, through the real pool and a real SMTP server on loopback: the server
/// down, the mail process killed mid-send, a server that always refuses, TLS and AUTH, two senders
/// on one database.
@Suite(.serialized)
struct MailFaultTests {
    /// Quick polling and short waits, so faults play out in seconds.
    static let quick = [
        "JWT_ALLAUTH_MAIL_POLL_INTERVAL": "0.1",
        "JWT_ALLAUTH_MAIL_RETRY_DELAY": "1s",
        "JWT_ALLAUTH_MAIL_RETRY_MAX_DELAY": "2s",
        "JWT_ALLAUTH_MAIL_MAX_ATTEMPTS": "50",
        "JWT_ALLAUTH_MAIL_CONNECT_TIMEOUT": "2s",
        "JWT_ALLAUTH_MAIL_SEND_TIMEOUT": "4s",
    ]

    func instance(_ sink: SMTPSink, _ extra: [String: String] = [:]) throws -> TestInstance {
        try TestInstance(environment: sink.environment.merging(Self.quick) { $1 }.merging(extra) { $1 })
    }

    /// Once every row is marked sent (waiting at most `timeout`) and a second more for a late
    /// duplicate: how often the sink received each Message-ID, having checked that it received
    /// exactly the rows' Message-IDs (none lost, none made up).
    func settledDeliveries(_ sink: SMTPSink, _ instance: TestInstance, _ ids: [Int64], timeout: TimeInterval = 30) throws -> [String: Int] {
        #expect(try instance.eventually(timeout: timeout) { try ids.allSatisfy { try instance.outboxRow($0)?.sentAt != nil } })
        usleep(1_000_000)
        let received = sink.messages.reduce(into: [String: Int]()) { $0[$1.messageID ?? "?", default: 0] += 1 }
        let expected = Set(try ids.map { try #require(try instance.outboxRow($0)).messageID })
        #expect(Set(received.keys) == expected, "no mail lost")
        return received
    }

    @Test func mailQueuedWhileTheServerIsDownIsDeliveredOnceWhenItIsBack() throws {
        let sink = try SMTPSink()
        sink.stop()
        let instance = try instance(sink)
        let ids = try (0..<6).map { try instance.enqueueMail(to: "user\($0)@example.com") }
        #expect(try instance.eventually { try ids.allSatisfy { try instance.outboxRow($0)?.lastError != nil } }, "every mail was tried and failed")
        #expect(try ids.allSatisfy { try instance.outboxRow($0)?.sentAt == nil && instance.outboxRow($0)?.failedAt == nil })
        try sink.start()
        let received = try settledDeliveries(sink, instance, ids)
        #expect(received.values.allSatisfy { $0 == 1 }, "each delivered exactly once: \(received)")
        #expect(instance.log.contains("mail not sent, will retry"))
    }

    @Test func aMailProcessKilledMidSendIsRespawnedAndNoMailIsLost() throws {
        // The server stores each message, then takes 2 s to answer: the kill lands in between.
        let sink = try SMTPSink(.init(delay: 2))
        let instance = try instance(sink)
        let first = try #require(instance.mailerPID)
        let ids = try (0..<3).map { try instance.enqueueMail(to: "user\($0)@example.com") }
        try sink.waitForMessages(1)
        kill(first, SIGKILL)
        #expect(instance.eventually(timeout: 10) { instance.mailerPID.map { $0 != first } ?? false }, "the master respawned the mail process")
        // The mail in flight waits for its lease (send timeout 4 s + 10 s) before it is sent again.
        let received = try settledDeliveries(sink, instance, ids, timeout: 60)
        #expect(received.values.filter { $0 > 1 }.count <= 1, "at most the one in flight repeated: \(received)")
        #expect(received.values.allSatisfy { $0 <= 2 })
        #expect(instance.log.contains("mailer died"))
    }

    @Test func aServerThatAlwaysRefusesEndsAtMaxAttemptsAndRetryRequeues() throws {
        let sink = try SMTPSink(.init(reply: "550 5.1.1 mailbox unavailable"))
        let instance = try instance(sink, ["JWT_ALLAUTH_MAIL_MAX_ATTEMPTS": "3"])
        let id = try instance.enqueueMail(to: "gone@example.com", text: "secret link https://example.com/reset/s3cr3t")
        #expect(try instance.eventually(timeout: 30) { try instance.outboxRow(id)?.failedAt != nil })
        let failed = try #require(try instance.outboxRow(id))
        #expect(failed.attempts == 3)
        #expect(failed.lastError?.contains("550") == true, "\(failed.lastError ?? "nil")")
        usleep(2_500_000)
        #expect(try instance.outboxRow(id)?.attempts == 3, "no attempt after giving up")
        #expect(sink.messages.isEmpty)
        #expect(instance.log.contains("mail failed, giving up"))
        #expect(!instance.log.contains("s3cr3t"), "no body or link in the log")

        let listing = try instance.command(["mail"])
        #expect(listing.status == 0)
        #expect(listing.output.contains("pending: 0, failed: 1, sent: 0"), "\(listing.output)")
        #expect(listing.output.contains("failed \(id)  test to gone@example.com"))
        #expect(listing.output.contains("after 3 attempt(s)") && listing.output.contains("550"))
        #expect(!listing.output.contains("s3cr3t"), "no body printed")

        // The server is fixed; the operator re-queues the mail.
        sink.stop()
        sink.options.reply = nil
        try sink.start()
        let retry = try instance.command(["mail", "--retry", String(id)])
        #expect(retry.status == 0 && retry.output.contains("mail \(id) re-queued"), "\(retry.output)")
        let mail = try #require(try sink.waitForMessages(1).first)
        #expect(mail.messageID == failed.messageID, "the same message, re-sent")
        #expect(try instance.eventually { try instance.outboxRow(id)?.sentAt != nil })
        #expect(try instance.command(["mail"]).output.contains("pending: 0, failed: 0, sent: 1"))
        #expect(try instance.command(["mail", "--retry", String(id)]).status != 0, "a sent mail cannot be retried")
        #expect(try instance.command(["mail", "--retry", "99999"]).status != 0)
    }

    func passwordFile(_ sink: SMTPSink, _ password: String) throws -> String {
        let path = sink.directory.deletingLastPathComponent().appendingPathComponent("smtp-password").path
        try (password + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func deliversOne(_ options: SMTPSink.Options) throws {
        let sink = try SMTPSink(options)
        let instance = try TestInstance(environment: sink.trustingCertificate.merging(Self.quick) { $1 }.merging([
            "JWT_ALLAUTH_MAIL_SMTP_USERNAME": "mailer",
            "JWT_ALLAUTH_MAIL_SMTP_PASSWORD_FILE": try passwordFile(sink, "pa55 word"),
        ]) { $1 })
        let id = try instance.enqueueMail(to: "tls@example.com")
        let mail = try #require(try sink.waitForMessages(1).first)
        #expect(try mail.messageID == instance.outboxRow(id)?.messageID)
        #expect(try instance.eventually { try instance.outboxRow(id)?.sentAt != nil })
    }

    @Test func startTLSWithAuthDelivers() throws {
        try deliversOne(.init(mode: .starttls, auth: "mailer:pa55 word"))
    }

    @Test func implicitTLSWithAuthDelivers() throws {
        try deliversOne(.init(mode: .tls, auth: "mailer:pa55 word"))
    }

    func failsClosed(_ sink: SMTPSink, environment: [String: String], error fragment: String) throws {
        let instance = try TestInstance(environment: environment.merging(Self.quick) { $1 })
        let id = try instance.enqueueMail(to: "tls@example.com")
        #expect(try instance.eventually { try instance.outboxRow(id)?.lastError != nil })
        let row = try #require(try instance.outboxRow(id))
        #expect(row.sentAt == nil)
        #expect(row.lastError?.lowercased().contains(fragment) == true, "\(row.lastError ?? "nil")")
        #expect(sink.messages.isEmpty)
    }

    @Test func anUntrustedCertificateFailsClosed() throws {
        let smtps = try SMTPSink(.init(mode: .tls))
        try failsClosed(smtps, environment: smtps.environment, error: "certificate")
        let starttls = try SMTPSink(.init(mode: .starttls))
        try failsClosed(starttls, environment: starttls.environment, error: "certificate")
    }

    @Test func startTLSIsRequiredNeverSkipped() throws {
        // A server that offers no STARTTLS: the mail is not sent in the clear.
        let plain = try SMTPSink()
        try failsClosed(plain, environment: plain.environment.merging(["JWT_ALLAUTH_MAIL_SMTP_SECURITY": "starttls"]) { $1 }, error: "starttls")
    }

    @Test func aWrongPasswordIsRecordedAndNothingIsSent() throws {
        let sink = try SMTPSink(.init(mode: .starttls, auth: "mailer:right"))
        try failsClosed(sink, environment: sink.trustingCertificate.merging([
            "JWT_ALLAUTH_MAIL_SMTP_USERNAME": "mailer",
            "JWT_ALLAUTH_MAIL_SMTP_PASSWORD_FILE": try passwordFile(sink, "wrong"),
        ]) { $1 }, error: "535")
    }

    /// `jwt-allauth mailer` run by hand against the instance's database.
    func startMailer(_ instance: TestInstance, name: String) throws -> Process {
        let process = Process()
        process.executableURL = TestInstance.binary
        process.arguments = ["mailer", "--config", instance.configPath]
        process.environment = instance.environment
        let path = instance.directory.appendingPathComponent("\(name).log").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: path)
        try process.run()
        return process
    }

    @Test func twoMailProcessesOnOneDatabaseNeverSendAMailTwice() throws {
        let sink = try SMTPSink()
        let instance = try instance(sink)
        instance.stop()
        let ids = try (0..<40).map { try instance.enqueueMail(to: "user\($0)@example.com") }
        let mailers = try [startMailer(instance, name: "a"), startMailer(instance, name: "b")]
        defer { mailers.forEach { if $0.isRunning { kill($0.processIdentifier, SIGKILL) } } }
        let received = try settledDeliveries(sink, instance, ids, timeout: 60)
        #expect(received.values.allSatisfy { $0 == 1 }, "\(received.filter { $0.value > 1 })")
        #expect(try ids.allSatisfy { try instance.outboxRow($0)?.attempts == 1 }, "no row was claimed twice")
        for mailer in mailers {
            mailer.terminate()
            mailer.waitUntilExit()
            #expect(mailer.terminationReason == .exit && mailer.terminationStatus == 0)
        }
    }

    @Test func sigtermAbandonsASlowSendWithinASecondAndTheMailIsDueAgain() throws {
        let sink = try SMTPSink(.init(delay: 20))
        let instance = try instance(sink, ["JWT_ALLAUTH_MAIL_SEND_TIMEOUT": "30s"])
        instance.stop()
        let id = try instance.enqueueMail(to: "slow@example.com")
        let mailer = try startMailer(instance, name: "slow")
        defer { if mailer.isRunning { kill(mailer.processIdentifier, SIGKILL) } }
        try sink.waitForMessages(1)
        let stopping = Date()
        mailer.terminate()
        #expect(instance.eventually(timeout: 5) { !mailer.isRunning })
        mailer.waitUntilExit()
        #expect(Date().timeIntervalSince(stopping) < 2.5, "stopped in \(Date().timeIntervalSince(stopping)) s")
        #expect(mailer.terminationReason == .exit && mailer.terminationStatus == 0)
        let row = try #require(try instance.outboxRow(id))
        #expect(row.sentAt == nil && row.attempts == 0, "released, not counted")
        #expect(try instance.database().first("SELECT leased_until IS NULL FROM outbox WHERE id = ?", [.integer(id)]) { $0.bool(0) } == true)
    }
}
