import AllauthRuntime
import AllauthStore
import Foundation
import Logging

/// The mail process's loop: claims due outbox rows one at a time, renders and hands each to the
/// transport, and records the outcome. One line in the log per delivery or failure, naming the
/// row, its kind and recipient, never the subject, body or links.
public final class Mailer {
    let outbox: Outbox
    let transport: MailTransport
    let policy: RetryPolicy
    let settings: MailSettings
    let stop: StopFlag
    let logger: Logger
    let metrics: MetricsRecorder
    let clock: () -> Int64

    /// `metrics`: where failed deliveries are counted (the mail process's counter file).
    public init(settings: MailSettings, db: any SQLConnection, transport: MailTransport, stop: StopFlag, logger: Logger,
                metrics: MetricsRecorder = .inMemory(),
                clock: @escaping () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.metrics = metrics
        self.outbox = Outbox(db)
        self.transport = transport
        self.policy = RetryPolicy(settings)
        self.settings = settings
        self.stop = stop
        self.logger = logger
        self.clock = clock
    }

    /// Until `stop` is set (or `shouldContinue` answers false): deliver what is due, else wait
    /// `mail.poll_interval`. A database error is logged and retried after the same wait.
    public func run(shouldContinue: () -> Bool = { true }) {
        while !stop.isSet && shouldContinue() {
            do {
                if try deliverNext() { continue }
            } catch {
                logger.error("mail queue unavailable", metadata: ["error": "\(error)"])
            }
            stop.sleep(settings.pollInterval)
        }
    }

    /// The lease outlasts the longest send libcurl allows, so it only runs out when the sender died.
    var leaseSeconds: Int64 { Int64(settings.sendTimeout.rounded(.up)) + 10 }

    /// Sends the oldest due mail, if any; answers whether there was one.
    @discardableResult
    public func deliverNext() throws -> Bool {
        let now = clock()
        guard let entry = try outbox.claimNext(now: now, leaseUntil: now + leaseSeconds) else { return false }
        var metadata: Logger.Metadata = ["id": "\(entry.id)", "kind": "\(entry.mail.kind)", "to": "\(entry.mail.to)",
                                         "message_id": "\(entry.messageID)", "attempt": "\(entry.attempt)"]
        do {
            let rendered = try MIMEMessage.render(entry.mail, messageID: entry.messageID, created: entry.created)
            try transport.deliver(rendered)
            try outbox.markSent(entry, now: clock())
            logger.info("mail sent", metadata: metadata)
        } catch let error as MailDeliveryError {
            let failedAt = clock()
            let retryAt: Int64?
            switch error {
            case .abandoned:
                try outbox.release(entry)
                logger.info("mail send abandoned at stop", metadata: metadata)
                return true
            case .permanent: retryAt = nil
            case .transient: retryAt = policy.nextAttempt(after: entry.attempt, now: failedAt)
            }
            try outbox.recordFailure(entry, error: error.description, now: failedAt, retryAt: retryAt)
            metrics.count(.mailDeliveryFailures)
            metadata["error"] = "\(error.description)"
            if let retryAt {
                metadata["retry_in_s"] = "\(retryAt - failedAt)"
                logger.warning("mail not sent, will retry", metadata: metadata)
            } else {
                logger.error("mail failed, giving up", metadata: metadata)
            }
        }
        return true
    }
}
