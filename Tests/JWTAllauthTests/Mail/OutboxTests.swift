import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthHTTP
@testable import AllauthStore

/// The outbox at the store level: leases, outcomes, backoff, give-up, retry and purge.
struct OutboxTests {
    let db: SQLiteDatabase
    let outbox: Outbox
    let now: Int64 = 1_800_000_000

    init() throws {
        db = try SQLiteDatabase.temporaryMigrated("outbox")
        outbox = Outbox(db)
    }

    @discardableResult
    func enqueue(_ to: String = "a@example.com", at time: Int64? = nil) throws -> Int64 {
        try db.transaction {
            try outbox.enqueue(OutgoingMail(kind: "test", from: "Service <no-reply@mail.example.com>", to: to, subject: "S",
                                            text: "link https://x/y", html: "<a>y</a>"), now: time ?? now)
        }
    }

    func row(_ id: Int64) throws -> (attempts: Int64, next: Int64, lease: Int64?, sent: Int64?, failed: Int64?, error: String?, text: String, html: String?) {
        try #require(try db.first("""
            SELECT attempts, next_attempt_at, leased_until, sent_at, failed_at, last_error, text_body, html_body FROM outbox WHERE id = ?
            """, [.integer(id)]) { ($0.int(0), $0.int(1), $0.optionalInt(2), $0.optionalInt(3), $0.optionalInt(4), $0.optionalString(5), $0.string(6), $0.optionalString(7)) })
    }

    @Test func theMessageIDIsFixedAtEnqueueWithTheSendersDomain() throws {
        let id = try enqueue()
        let claimed = try #require(try outbox.claimNext(now: now, leaseUntil: now + 60))
        #expect(claimed.id == id)
        #expect(claimed.messageID.hasPrefix("<") && claimed.messageID.hasSuffix("@mail.example.com>"))
        #expect(claimed.messageID.count == "<@mail.example.com>".count + 32)
    }

    @Test func aLeasedRowCannotBeClaimedAgainUntilTheLeaseRunsOut() throws {
        let id = try enqueue()
        let first = try #require(try outbox.claimNext(now: now, leaseUntil: now + 60))
        #expect(first.attempt == 1)
        #expect(try outbox.claimNext(now: now + 59, leaseUntil: now + 119) == nil)
        // The holder died: the lease runs out and the same row, same Message-ID, is due again.
        let second = try #require(try outbox.claimNext(now: now + 60, leaseUntil: now + 120))
        #expect(second.id == id && second.messageID == first.messageID && second.attempt == 2)
        // The first holder's late failure report no longer applies.
        try outbox.recordFailure(first, error: "late", now: now + 61, retryAt: now + 1000)
        #expect(try row(id).lease == now + 120 && row(id).error == nil)
    }

    @Test func rowsAreClaimedOldestDueFirstAndNotBeforeTheyAreDue() throws {
        let later = try enqueue(at: now + 10)
        let earlier = try enqueue(at: now)
        #expect(try outbox.claimNext(now: now, leaseUntil: now + 60)?.id == earlier)
        #expect(try outbox.claimNext(now: now, leaseUntil: now + 60) == nil)
        #expect(try outbox.claimNext(now: now + 10, leaseUntil: now + 70)?.id == later)
    }

    @Test func sendingErasesTheBodiesAndKeepsTheMetadata() throws {
        let id = try enqueue()
        let entry = try #require(try outbox.claimNext(now: now, leaseUntil: now + 60))
        try outbox.markSent(entry, now: now + 1)
        let sent = try row(id)
        #expect(sent.sent == now + 1 && sent.lease == nil && sent.text.isEmpty && sent.html == nil)
        #expect(try outbox.claimNext(now: now + 1000, leaseUntil: now + 1060) == nil)
        #expect(try outbox.queue().sent == 1)
    }

    @Test func failuresBackOffExponentiallyAndGiveUpAtMaxAttempts() throws {
        var config = try Config.parse(yaml: "mail:\n  max_attempts: 4\n  retry_delay: 10s\n  retry_max_delay: 25s\n", baseDirectory: URL(fileURLWithPath: "/"))
        let policy = RetryPolicy(config.mail)
        #expect(policy.nextAttempt(after: 1, now: now) == now + 10)
        #expect(policy.nextAttempt(after: 2, now: now) == now + 20)
        #expect(policy.nextAttempt(after: 3, now: now) == now + 25)
        #expect(policy.nextAttempt(after: 4, now: now) == nil)
        config.mail.maxAttempts = 100
        #expect(RetryPolicy(config.mail).nextAttempt(after: 90, now: now) == now + 25, "no overflow on many attempts")

        let id = try enqueue()
        var clock = now
        for attempt in 1...4 {
            let entry = try #require(try outbox.claimNext(now: clock, leaseUntil: clock + 60), "attempt \(attempt)")
            #expect(entry.attempt == attempt)
            let retryAt = policy.nextAttempt(after: attempt, now: clock)
            try outbox.recordFailure(entry, error: "451 try later #\(attempt)", now: clock, retryAt: retryAt)
            #expect(try outbox.claimNext(now: clock, leaseUntil: clock + 60) == nil, "not due before its backoff")
            clock = retryAt ?? clock
        }
        let failed = try row(id)
        #expect(failed.attempts == 4 && failed.failed != nil && failed.error == "451 try later #4")
        #expect(try outbox.claimNext(now: clock + 100_000, leaseUntil: clock + 100_060) == nil, "given up")
        let queue = try outbox.queue()
        #expect(queue.failed.map(\.id) == [id] && queue.pending.isEmpty)
        #expect(queue.failed.first?.lastError == "451 try later #4")
    }

    @Test func retryRequeuesOnlyAFailedMailWithFreshAttempts() throws {
        let id = try enqueue()
        let pending = try enqueue("b@example.com")
        let entry = try #require(try outbox.claimNext(now: now, leaseUntil: now + 60))
        try outbox.recordFailure(entry, error: "550 no such user", now: now, retryAt: nil)
        #expect(try outbox.retry(id: pending, now: now) == .notFailed)
        #expect(try outbox.retry(id: 999, now: now) == .notFound)
        #expect(try outbox.retry(id: id, now: now + 5) == .requeued)
        let again = try row(id)
        #expect(again.failed == nil && again.attempts == 0 && again.next == now + 5)
        let claimed = try [outbox.claimNext(now: now + 5, leaseUntil: now + 65), outbox.claimNext(now: now + 5, leaseUntil: now + 65)]
        #expect(Set(claimed.compactMap { $0?.id }) == [id, pending])
    }

    @Test func anAbandonedSendIsDueAtOnceAndNotCounted() throws {
        let id = try enqueue()
        let entry = try #require(try outbox.claimNext(now: now, leaseUntil: now + 60))
        try outbox.release(entry)
        #expect(try row(id).attempts == 0 && row(id).lease == nil)
        #expect(try outbox.claimNext(now: now, leaseUntil: now + 60)?.attempt == 1)
    }

    @Test func purgeDeletesMailSentOrFailedOverThirtyDaysAgo() throws {
        let old = try enqueue(at: now - 40 * 86400)
        let oldFailed = try enqueue(at: now - 40 * 86400)
        let recent = try enqueue(at: now - 40 * 86400)
        let pending = try enqueue(at: now - 40 * 86400)
        try db.run("UPDATE outbox SET sent_at = ? WHERE id = ?", [.integer(now - 31 * 86400), .integer(old)])
        try db.run("UPDATE outbox SET failed_at = ? WHERE id = ?", [.integer(now - 31 * 86400), .integer(oldFailed)])
        try db.run("UPDATE outbox SET sent_at = ? WHERE id = ?", [.integer(now - 29 * 86400), .integer(recent)])
        #expect(try Purge(db).run(now: now, dryRun: true).sentMail == 2)
        #expect(try Purge(db).run(now: now, dryRun: false).sentMail == 2)
        let left = try Set(outbox.queue().pending.map(\.id))
        #expect(left == [pending])
        #expect(try db.first("SELECT COUNT(*) FROM outbox") { $0.int(0) } == 2)
    }
}
