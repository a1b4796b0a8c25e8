import AllauthStore
import Crypto
import Foundation

/// The mail queue in the database. A mail is enqueued in the same transaction as the change that
/// causes it (a rolled-back change sends nothing; a committed one cannot lose its mail), and the
/// mail process delivers it later. All of the outbox's SQL is here.
public struct Outbox {
    let db: any SQLConnection

    public init(_ db: any SQLConnection) { self.db = db }

    /// Queues `mail`; call it inside the caller's write transaction. The Message-ID is fixed
    /// here, so a retry after a crash re-sends the same message rather than a new one.
    @discardableResult
    public func enqueue(_ mail: OutgoingMail, now: Int64) throws -> Int64 {
        try db.insert("""
            INSERT INTO outbox (message_id, kind, sender, recipient, subject, text_body, html_body, created, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(Self.messageID(from: mail.from)), .text(mail.kind), .text(mail.from), .text(mail.to),
                  .text(mail.subject), .text(mail.text), SQLValue(mail.html), .integer(now), .integer(now)])
    }

    /// Deletes every mail to `address`, sent or not (an account's deletion: its mail holds its
    /// address and links). Addresses compare case-insensitively, as accounts' do.
    @discardableResult
    public func deleteAll(to address: String) throws -> Int {
        try db.run("DELETE FROM outbox WHERE lower(recipient) = ?", [.text(address.lowercased())])
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
        let domain = MailAddress(sender)?.domain ?? "localhost"
        let random = SymmetricKey(size: .bits128).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        return "<\(random)@\(domain)>"
    }

    // MARK: delivery (the mail process)

    /// Takes the oldest due mail for this sender until `leaseUntil`, counting the attempt now, so a
    /// mail whose sending crashes the process still reaches `maxAttempts`. The read and the lease are
    /// one step: SQLite's BEGIN IMMEDIATE admits one claimer at a time; on PostgreSQL the row is
    /// taken `FOR UPDATE SKIP LOCKED`, so mail processes on every host claim different rows at once
    /// and two never hold the same one. A lease left
    /// by a killed process runs out, and the row is due again, with its Message-ID unchanged.
    public func claimNext(now: Int64, leaseUntil: Int64) throws -> OutboxEntry? {
        try db.transaction(.write) {
            guard let entry = try db.first("""
                SELECT id, message_id, kind, sender, recipient, subject, text_body, html_body, created, attempts
                FROM outbox
                WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND (leased_until IS NULL OR leased_until <= ?)
                ORDER BY next_attempt_at, id LIMIT 1\(db.dialect.claimRows)
                """, [.integer(now), .integer(now)], { row in
                    OutboxEntry(id: row.int(0), messageID: row.string(1),
                                mail: OutgoingMail(kind: row.string(2), from: row.string(3), to: row.string(4), subject: row.string(5),
                                                   text: row.string(6), html: row.optionalString(7)),
                                created: row.int(8), attempt: Int(row.int(9)) + 1, leasedUntil: leaseUntil)
                })
            else { return nil }
            try db.run("UPDATE outbox SET leased_until = ?, attempts = attempts + 1 WHERE id = ?",
                       [.integer(leaseUntil), .integer(entry.id)])
            return entry
        }
    }

    /// Delivered: keeps the row's metadata and drops the bodies, which hold one-time links.
    public func markSent(_ entry: OutboxEntry, now: Int64) throws {
        try db.run("""
            UPDATE outbox SET sent_at = ?, leased_until = NULL, last_error = NULL, text_body = '', html_body = NULL
            WHERE id = ? AND sent_at IS NULL
            """, [.integer(now), .integer(entry.id)])
    }

    /// A failed attempt: due again at `retryAt`, or marked failed when that is nil. Only while this
    /// sender still holds the lease; after it ran out the row may already belong to another.
    public func recordFailure(_ entry: OutboxEntry, error: String, now: Int64, retryAt: Int64?) throws {
        try db.run("""
            UPDATE outbox SET leased_until = NULL, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), failed_at = ?
            WHERE id = ? AND leased_until = ? AND sent_at IS NULL
            """, [.text(String(error.prefix(500))), SQLValue(retryAt), retryAt == nil ? .integer(now) : .null,
                  .integer(entry.id), .integer(entry.leasedUntil)])
    }

    /// The send was abandoned at stop: the row is due again at once and the attempt is not counted.
    public func release(_ entry: OutboxEntry) throws {
        try db.run("UPDATE outbox SET leased_until = NULL, attempts = attempts - 1 WHERE id = ? AND leased_until = ?",
                   [.integer(entry.id), .integer(entry.leasedUntil)])
    }

    // MARK: administration (`jwt-allauth mail`)

    /// Every unsent row (pending and failed), oldest first, and the number of sent ones; no bodies.
    public func queue(limit: Int = 1000) throws -> OutboxQueue {
        var queue = OutboxQueue()
        try db.query("""
            SELECT id, message_id, kind, recipient, created, attempts, next_attempt_at, leased_until, failed_at, last_error
            FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?
            """, [.integer(Int64(limit))]) { row in
            let status = OutboxStatus(id: row.int(0), messageID: row.string(1), kind: row.string(2), recipient: row.string(3),
                                      created: row.int(4), attempts: Int(row.int(5)), nextAttemptAt: row.int(6),
                                      leasedUntil: row.optionalInt(7), failedAt: row.optionalInt(8), lastError: row.optionalString(9))
            if status.failedAt == nil { queue.pending.append(status) } else { queue.failed.append(status) }
        }
        queue.sent = Int(try db.first("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") { $0.int(0) } ?? 0)
        return queue
    }

    public enum RetryOutcome: Equatable { case requeued, notFailed, notFound }

    /// Puts a failed mail back in the queue, due now, with a fresh count of attempts.
    public func retry(id: Int64, now: Int64) throws -> RetryOutcome {
        try db.transaction(.write) {
            guard let failedAt = try db.first("SELECT failed_at FROM outbox WHERE id = ?\(db.dialect.lockRows)", [.integer(id)], { $0.optionalInt(0) }) else {
                return .notFound
            }
            guard failedAt != nil else { return .notFailed }
            try db.run("UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = ?, leased_until = NULL WHERE id = ?",
                       [.integer(now), .integer(id)])
            return .requeued
        }
    }
}

/// A claimed row: the mail to render and send, and the lease that proves this sender holds it.
public struct OutboxEntry: Sendable {
    public var id: Int64
    public var messageID: String
    public var mail: OutgoingMail
    public var created: Int64
    /// 1 for the first try.
    public var attempt: Int
    public var leasedUntil: Int64
}

/// One unsent row as `jwt-allauth mail` lists it: metadata only, never the bodies.
public struct OutboxStatus: Sendable {
    public var id: Int64
    public var messageID: String
    public var kind: String
    public var recipient: String
    public var created: Int64
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var leasedUntil: Int64?
    public var failedAt: Int64?
    public var lastError: String?
}

public struct OutboxQueue: Sendable {
    public var pending: [OutboxStatus] = []
    public var failed: [OutboxStatus] = []
    public var sent = 0
}
