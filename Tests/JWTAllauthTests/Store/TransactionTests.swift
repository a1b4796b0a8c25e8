import Foundation
import Testing
@testable import AllauthStore

#if canImport(Glibc)
import Glibc
#endif

/// `SQLiteDatabase.transaction`: every wait ends at the busy timeout with `StoreBusy`, and a revocation
/// (`.full`) inside a rotation-like `.normal` transaction makes the whole transaction durable.
@Suite(.serialized)
struct TransactionTests {
    static let timeout = 0.3

    private func scratch() throws -> (SQLiteDatabase, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tx-\(UUID().uuidString).sqlite3").path
        let db = try SQLiteDatabase(path: path, busyTimeout: Self.timeout)
        try db.execute("CREATE TABLE t (v INTEGER)")
        return (db, path)
    }

    private func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-writer.lock"] { unlink(path + suffix) }
    }

    /// Answers how long `body` took to throw `StoreBusy` (nil if it did not).
    private func busyAfter(_ body: () throws -> Void) -> TimeInterval? {
        let started = Date()
        do { try body() } catch is StoreBusy { return Date().timeIntervalSince(started) } catch { return nil }
        return nil
    }

    @Test func aWriterLockHeldElsewhereEndsTheWaitAtTheBusyTimeoutAndWritesNothing() throws {
        let (db, path) = try scratch()
        defer { remove(path) }
        let other = open(path + "-writer.lock", O_RDWR)
        defer { close(other) }
        #expect(flock(other, LOCK_EX) == 0)
        let waited = busyAfter { _ = try db.transaction { try db.run("INSERT INTO t VALUES (1)") } }
        #expect(waited.map { $0 >= Self.timeout * 0.9 && $0 < Self.timeout + 0.7 } == true, "waited \(String(describing: waited)) s")
        flock(other, LOCK_UN)
        try db.transaction { try db.run("INSERT INTO t VALUES (2)") }
        #expect(try db.first("SELECT group_concat(v) FROM t") { $0.string(0) } == "2")
    }

    @Test func sqlitesOwnLockHeldByAWriterOutsideTheQueueEndsTheWaitAtTheBusyTimeout() throws {
        let (db, path) = try scratch()
        defer { remove(path) }
        // A writer that does not take the writer lock (the sqlite3 shell, an old binary).
        let outsider = try SQLiteDatabase(path: path)
        try outsider.execute("BEGIN IMMEDIATE")
        let waited = busyAfter { _ = try db.transaction { try db.run("INSERT INTO t VALUES (1)") } }
        #expect(waited.map { $0 >= Self.timeout * 0.9 && $0 < Self.timeout + 0.7 } == true, "waited \(String(describing: waited)) s")
        let autocommit = busyAfter { _ = try db.run("INSERT INTO t VALUES (1)") }
        #expect(autocommit.map { $0 < Self.timeout + 0.7 } == true, "a statement outside a transaction waits as long at most")
        try outsider.execute("ROLLBACK")
        try db.transaction { try db.run("INSERT INTO t VALUES (2)") }
    }

    @Test func aFullTransactionInsideANormalOneRunsTheWholeTransactionAgainAsFull() throws {
        let (db, path) = try scratch()
        defer { remove(path) }
        var levels: [Int64] = []
        try db.transaction {
            levels.append(try db.first("PRAGMA synchronous") { $0.int(0) } ?? -1)
            try db.run("INSERT INTO t VALUES (1)")
            try db.transaction(.accessChange) { try db.run("INSERT INTO t VALUES (2)") }
        }
        #expect(levels == [1, 2], "ran as NORMAL, rolled back, ran again as FULL")
        #expect(try db.first("SELECT group_concat(v) FROM t") { $0.string(0) } == "1,2", "the first attempt left nothing")
        #expect(try db.first("PRAGMA synchronous") { $0.int(0) } == 1, "NORMAL again afterwards")
        try db.transaction { try db.run("INSERT INTO t VALUES (3)") }
        #expect(try db.first("PRAGMA synchronous") { $0.int(0) } == 1)
    }
}
