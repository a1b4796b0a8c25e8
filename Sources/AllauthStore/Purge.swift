import Foundation

/// Deletes rows nobody can use any more: expired refresh tokens, expired one-time tokens and
/// throttle counters older than a day (longer than any window), and outbox rows sent or failed
/// more than 30 days ago; expired MFA challenges and setup secrets, and MFA failures over 30 days old;
/// spent social id_tokens past their expiry, and reauthentications over a day old.
///
/// It runs beside the live pool, so it never holds the write lock for long. On SQLite each table is
/// walked in rowid order: a read, which takes no lock a writer waits for, lists the next rows to
/// delete, and one small transaction deletes exactly those, with a pause after it so that waiting
/// rotations go first. A transaction deletes at most `maxSliceRows` rows, fewer when the last took
/// longer than `sliceTarget`: rows whose keys are random (jti, session) each cost index pages of
/// their own, so a slice's cost follows the rows it deletes, and live rows between them cost the
/// lock nothing. No index on the expiry columns is needed (one on `refresh_tokens.expires` would
/// cost every rotation an index update).
///
/// The purge's own commits never checkpoint the WAL (SQLite's automatic checkpoint would copy a
/// thousand pages and sync the file inside COMMIT, with the writer lock held); it checkpoints
/// between slices instead, PASSIVE and outside any transaction, where writers go on beside it.
public struct Purge {
    public struct Report: Equatable {
        public var refreshTokens = 0
        public var oneTimeTokens = 0
        public var throttleHits = 0
        public var sentMail = 0
        /// Expired MFA challenges and setup secrets, and second-factor failures past any lockout window.
        public var mfaRows = 0
        /// Spent id_tokens past their expiry (`SpentIDTokens`) and old reauthentications (`Reauthentication`).
        public var proofRows = 0
        public var total: Int { refreshTokens + oneTimeTokens + throttleHits + sentMail + mfaRows + proofRows }
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
    /// The lock time each slice aims at; the rows it deletes follow what the last one took.
    var sliceTarget: Duration = .milliseconds(1)
    /// The most rows one transaction deletes, however fast the slices before it were: the cap that
    /// keeps one slice's lock in milliseconds. 256 random-key sessions took ~6 ms on the loaded test
    /// machine; 1,024 overflowed SQLite's page cache and took ~130 ms.
    static let maxSliceRows = 256

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
            // An expired id_token is refused by its `exp` anyway.
            Rule(table: "social_id_tokens", condition: "expires <= ?", bindings: [.integer(now)], keyPath: \.proofRows),
            // A day outlasts any sensible `accounts.reauthentication_timeout`.
            Rule(table: "reauthentications", condition: "at < ?", bindings: [.integer(now - 86400)], keyPath: \.proofRows),
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
        guard let last = try db.first("SELECT MAX(rowid) FROM \(rule.table)", [], { row in row.isNull(0) ? nil : row.int(0) }) ?? nil else {
            return
        }
        let candidates = "SELECT rowid FROM \(rule.table) WHERE rowid >= ? AND rowid <= ? AND (\(rule.condition)) ORDER BY rowid LIMIT ?"
        // One statement for the slice, its rowids bound as one JSON array; the condition again
        // under the lock, so a row changed since the read is left alone.
        let deleteListed = "DELETE FROM \(rule.table) WHERE rowid IN (SELECT value FROM json_each(?)) AND (\(rule.condition))"
        try withoutAutomaticCheckpoint {
            let clock = ContinuousClock()
            var low = Int64.min
            var rows = 64
            while true {
                var rowIDs: [Int64] = []
                try db.query(candidates, [.integer(low), .integer(last)] + rule.bindings + [.integer(Int64(rows))]) { rowIDs.append($0.int(0)) }
                guard let highest = rowIDs.last else { return }
                // From the lock taken to the commit done, not counting the wait in the writers' queue.
                var locked = clock.now
                let deleted = try db.transaction(.write) { () throws -> Int in
                    locked = clock.now
                    return try db.run(deleteListed, [.text("[" + rowIDs.map(String.init).joined(separator: ",") + "]")] + rule.bindings)
                }
                let held = clock.now - locked
                low = highest + 1
                report[keyPath: rule.keyPath] += deleted
                report.slices += 1
                report.longestHold = max(report.longestHold, held)
                progress(report)
                // Aim each slice at `sliceTarget` of lock time, never past `maxSliceRows`.
                if held < sliceTarget / 2 { rows = min(rows * 2, Self.maxSliceRows) } else if held > sliceTarget * 2 { rows = max(rows / 2, 8) }
                if deleted > 0 { try checkpoint() }
                // Pause twice as long as the slice held the lock: the writers queued meanwhile go first,
                // and the purge takes at most a third of a core from a pool that may need them all.
                let pause = (held * 2 + .milliseconds(1)).components
                usleep(UInt32(pause.seconds * 1_000_000 + pause.attoseconds / 1_000_000_000_000))
            }
        }
    }

    /// Runs `body` with this connection's automatic checkpoint off (`wal_autocheckpoint = 0`), so
    /// that no COMMIT of the purge copies the WAL back with the writer lock held; set back after.
    private func withoutAutomaticCheckpoint(_ body: () throws -> Void) throws {
        let pages = try db.first("PRAGMA wal_autocheckpoint", []) { $0.int(0) } ?? 1000
        try db.run("PRAGMA wal_autocheckpoint = 0")
        defer { _ = try? db.run("PRAGMA wal_autocheckpoint = \(pages)") }
        try body()
    }

    /// Copies what the last slice wrote to the WAL back into the database, outside any transaction:
    /// PASSIVE neither waits for nor blocks the writers (a rotation commits meanwhile), and a
    /// checkpoint already running elsewhere simply does the work instead.
    private func checkpoint() throws {
        _ = try db.first("PRAGMA wal_checkpoint(PASSIVE)", []) { $0.int(0) }
    }
}
