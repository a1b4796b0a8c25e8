import Crypto
import Foundation

/// The mail queue in the database. A mail is enqueued in the same transaction as the change that
/// causes it (a rolled-back change sends nothing; a committed one cannot lose its mail), and the
/// mail process delivers it later. All of the outbox's SQL is here.
public struct Outbox {
    let db: Database

    public init(_ db: Database) { self.db = db }

    /// Queues `mail`; call it inside the caller's write transaction. The Message-ID is fixed
    /// here, so a retry after a crash re-sends the same message rather than a new one.
    @discardableResult
    public func enqueue(_ mail: OutgoingMail, now: Int64) throws -> Int64 {
        try db.run("""
            INSERT INTO outbox (message_id, kind, sender, recipient, subject, text_body, html_body, created, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(Self.messageID(from: mail.from)), .text(mail.kind), .text(mail.from), .text(mail.to),
                  .text(mail.subject), .text(mail.text), SQLValue(mail.html), .integer(now), .integer(now)])
        return db.lastInsertID
    }

    /// Messages waiting for delivery and messages given up on: the metrics' mail gauges.
    public func depth() throws -> (queued: Int, failed: Int) {
        try db.first("""
            SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
                   COUNT(*) FILTER (WHERE failed_at IS NOT NULL) FROM outbox
            """) { (Int($0.int(0)), Int($0.int(1))) } ?? (0, 0)
    }

    /// `<32 random hex@sender's domain>` (RFC 5322 §3.6.4).
    static func messageID(from sender: String) -> String {
        let domain = sender.split(separator: "@").last.map(String.init) ?? "localhost"
        let random = SymmetricKey(size: .bits128).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        return "<\(random)@\(domain)>"
    }
}
