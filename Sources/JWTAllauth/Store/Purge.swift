import Foundation

/// Deletes rows nobody can use any more: expired refresh tokens, expired one-time tokens and
/// throttle counters older than a day (longer than any window), and outbox rows sent or failed
/// more than 30 days ago; expired MFA challenges and setup secrets, and MFA failures over 30 days old.
///
/// It runs beside the live pool, so it never holds the write lock for long: each table is walked in
/// slices of rowids, one small transaction per slice (a few milliseconds of lock), with a pause after
/// each so that waiting rotations go first. A slice is a range of the primary key, so it costs the
/// same whether its rows are expired or not, and no index on the expiry columns is needed (one on
/// `refresh_tokens.expires` would cost every rotation an index update).
public struct Purge {
    public struct Report: Equatable {
        public var refreshTokens = 0
        public var oneTimeTokens = 0
        public var throttleHits = 0
        public var sentMail = 0
        /// Expired MFA challenges and setup secrets, and second-factor failures past any lockout window.
        public var mfaRows = 0
        public var total: Int { refreshTokens + oneTimeTokens + throttleHits + sentMail + mfaRows }
        /// Slices (transactions) run, and the longest any held the write lock: what the pool waited at worst.
        public var slices = 0
        public var longestHold = Duration.zero
    }

    /// One kind of row to delete: `condition` over `table`, counted into `keyPath`.
    private struct Rule {
        var table: String
        var condition: String
        var bindings: [SQLValue]
        var keyPath: WritableKeyPath<Report, Int>
    }

    let db: any SQLConnection
    /// The lock time each slice aims at; the slice's width in rowids follows what the last one took.
    var sliceTarget: Duration = .milliseconds(1)

    public init(_ db: any SQLConnection) { self.db = db }

    /// `progress` is called after each slice with the totals so far (for the terminal).
    public func run(now: Int64, dryRun: Bool, progress: (Report) -> Void = { _ in }) throws -> Report {
        let mailCutoff = now - 30 * 86400
        let rules = [
            Rule(table: "refresh_tokens", condition: "expires <= ?", bindings: [.integer(now)], keyPath: \.refreshTokens),
            Rule(table: "one_time_tokens", condition: "expires <= ?", bindings: [.integer(now)], keyPath: \.oneTimeTokens),
            Rule(table: "throttle_hits", condition: "at < ?", bindings: [.real(Double(now - 86400))], keyPath: \.throttleHits),
            Rule(table: "outbox", condition: "COALESCE(sent_at, failed_at) <= ?", bindings: [.integer(mailCutoff)], keyPath: \.sentMail),
            Rule(table: "mfa_challenges", condition: "expires <= ?", bindings: [.integer(now)], keyPath: \.mfaRows),
            Rule(table: "mfa_setup_secrets", condition: "expires <= ?", bindings: [.integer(now)], keyPath: \.mfaRows),
            // A lockout window is configurable; thirty days outlasts any sensible one.
            Rule(table: "mfa_failures", condition: "at < ?", bindings: [.real(Double(mailCutoff))], keyPath: \.mfaRows),
        ]
        var report = Report()
        for rule in rules {
            if dryRun {
                // A read: in WAL mode it takes no lock a writer waits for.
                report[keyPath: rule.keyPath] += Int(try db.first("SELECT COUNT(*) FROM \(rule.table) WHERE \(rule.condition)", rule.bindings) { $0.int(0) } ?? 0)
            } else {
                try delete(rule, into: &report, progress: progress)
            }
        }
        return report
    }

    private func delete(_ rule: Rule, into report: inout Report, progress: (Report) -> Void) throws {
        switch db.engine {
        case .sqlite: try deleteInRowIDSlices(rule, into: &report, progress: progress)
        case .postgreSQL: try deleteInBatches(rule, into: &report, progress: progress)
        }
    }

    /// PostgreSQL: a delete locks only the expired rows it removes, which no request uses, so nobody
    /// queues behind it as behind SQLite's single writer; batches of a bounded size only keep each
    /// statement well inside `statement_timeout` (`database.busy_timeout`) on a large backlog.
    private func deleteInBatches(_ rule: Rule, into report: inout Report, progress: (Report) -> Void) throws {
        let batch = 5000
        let sql = "DELETE FROM \(rule.table) WHERE ctid IN (SELECT ctid FROM \(rule.table) WHERE \(rule.condition) LIMIT \(batch))"
        while true {
            let deleted = try db.run(sql, rule.bindings)
            report[keyPath: rule.keyPath] += deleted
            progress(report)
            if deleted < batch { return }
        }
    }

    /// SQLite: deletes `rule`'s rows slice by slice, up to the largest rowid present when it starts
    /// (rows added meanwhile are new, hence not expired).
    private func deleteInRowIDSlices(_ rule: Rule, into report: inout Report, progress: (Report) -> Void) throws {
        guard let (first, last) = try db.first("SELECT MIN(rowid), MAX(rowid) FROM \(rule.table)", [], { row in
            row.isNull(0) ? nil : (row.int(0), row.int(1))
        }) ?? nil else { return }
        let sql = "DELETE FROM \(rule.table) WHERE rowid >= ? AND rowid < ? AND (\(rule.condition))"
        let clock = ContinuousClock()
        var low = first
        var width: Int64 = 1024
        while low <= last {
            // From the lock taken to the commit done, not counting the wait in the writers' queue.
            var locked = clock.now
            let deleted = try db.transaction(.immediate) { () throws -> Int in
                locked = clock.now
                return try db.run(sql, [.integer(low), .integer(low + width)] + rule.bindings)
            }
            let held = clock.now - locked
            low += width
            report[keyPath: rule.keyPath] += deleted
            report.slices += 1
            report.longestHold = max(report.longestHold, held)
            progress(report)
            // Aim each slice at `sliceTarget` of lock time.
            if held < sliceTarget / 2 { width = min(width * 2, 1 << 20) } else if held > sliceTarget * 2 { width = max(width / 2, 64) }
            // Pause twice as long as the slice held the lock: the writers queued meanwhile go first,
            // and the purge takes at most a third of a core from a pool that may need them all.
            let pause = (held * 2 + .milliseconds(1)).components
            usleep(UInt32(pause.seconds * 1_000_000 + pause.attoseconds / 1_000_000_000_000))
        }
    }
}
