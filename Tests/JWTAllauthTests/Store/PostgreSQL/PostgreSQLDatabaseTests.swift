import Foundation
import Testing
@testable import AllauthStore

/// The PostgreSQL connection itself: statements, values, transactions, migrations, and what it
/// does when the server goes away or a lock is held too long.
@Suite(.serialized)
struct PostgreSQLDatabaseTests {
    @Test func placeholdersAreNumberedOutsideQuotedText() {
        #expect(SQLPlaceholders.numbered("SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)")
                == "SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)")
        #expect(SQLPlaceholders.numbered(#"SELECT "odd?name" FROM t WHERE x = ?"#) == #"SELECT "odd?name" FROM t WHERE x = $1"#)
    }

    @Test func everyValueTypeRoundTrips() throws {
        let db = TestPostgreSQL.connect(try TestPostgreSQL.freshDatabase())
        try db.execute("CREATE TABLE t (i BIGINT, f SMALLINT, r DOUBLE PRECISION, s TEXT, b BYTEA)")
        let bytes: [UInt8] = [0, 1, 2, 0x5c, 0x78, 255]
        try db.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.integer(-9_007_199_254_740_993), SQLValue(true), .real(1_800_000_000.125),
                                                           .text("Zoë 東京 'quoted' \\x"), .blob(bytes)])
        try db.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [nil, SQLValue(false), nil, .text(""), .blob([])])
        var rows: [[String]] = []
        try db.query("SELECT i, f, r, s, b FROM t ORDER BY i NULLS LAST", []) { row in
            #expect(row.int(0) == -9_007_199_254_740_993 || row.isNull(0))
            rows.append([String(describing: row.optionalInt(0)), String(row.bool(1)), String(row.double(2)), row.string(3), "\(row.blob(4))"])
        }
        #expect(rows == [["Optional(-9007199254740993)", "true", "1800000000.125", "Zoë 東京 'quoted' \\x", "\(bytes)"],
                         ["nil", "false", "0.0", "", "[]"]])
        #expect(try db.first("SELECT s FROM t WHERE s = ?", [.text("")]) { $0.optionalString(0) } == "", "empty text is not NULL")
    }

    @Test func textWithANULIsRefusedRatherThanCutShort() throws {
        let db = TestPostgreSQL.connect(try TestPostgreSQL.freshDatabase())
        try db.execute("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a@example.com')")
        #expect(throws: DatabaseError.self) {
            try db.first("SELECT COUNT(*) FROM t WHERE v = ?", [.text("a@example.com\u{0}x")]) { $0.int(0) }
        }
        #expect(try db.first("SELECT COUNT(*) FROM t", []) { $0.int(0) } == 1, "the connection still works")
    }

    @Test func aThrowingTransactionLeavesNothingAndTheConnectionUsable() throws {
        let db = TestPostgreSQL.connect(try TestPostgreSQL.freshDatabase())
        try db.execute("CREATE TABLE t (v BIGINT UNIQUE)")
        #expect(throws: DatabaseError.self) {
            try db.transaction(.write) {
                try db.run("INSERT INTO t VALUES (1)", [])
                try db.run("INSERT INTO t VALUES (1)", [])
            }
        }
        #expect(try db.first("SELECT COUNT(*) FROM t", []) { $0.int(0) } == 0)
        _ = try db.transaction(.write) { try db.run("INSERT INTO t VALUES (2)", []) }
        #expect(try db.first("SELECT COUNT(*) FROM t", []) { $0.int(0) } == 1)
    }

    @Test func aTransactionWhoseErrorWasSwallowedDoesNotClaimToCommit() throws {
        let db = TestPostgreSQL.connect(try TestPostgreSQL.freshDatabase())
        try db.execute("CREATE TABLE t (v BIGINT UNIQUE)")
        #expect(throws: DatabaseError.self) {
            try db.transaction(.write) {
                try db.run("INSERT INTO t VALUES (1)", [])
                _ = try? db.run("INSERT INTO t VALUES (1)", [])
            }
        }
        #expect(try db.first("SELECT COUNT(*) FROM t", []) { $0.int(0) } == 0)
    }

    @Test func aFullDurabilityTransactionWaitsForTheWALWhateverTheServerSays() throws {
        let db = TestPostgreSQL.connect(try TestPostgreSQL.freshDatabase())
        // An operator who turned synchronous_commit off for speed (here for this session).
        try db.execute("SET synchronous_commit = off")
        let setting = { try db.first("SHOW synchronous_commit", []) { $0.string(0) } ?? "" }
        #expect(try db.transaction(.write) { try setting() } == "off", "rotations follow the server")
        #expect(try db.transaction(.accessChange) { try setting() } == "on", "revocations never lose")
        let nested = try db.transaction(.write) { () throws -> [String] in
            let before = try setting()
            return [before, try db.transaction(.accessChange) { try setting() }, try setting()]
        }
        #expect(nested == ["off", "on", "on"], "a revocation inside a rotation raises the whole transaction")
        #expect(try setting() == "off", "only for that transaction")
    }

    @Test func migrationsRecordTheSameNamesAsSQLiteAndRunOnce() throws {
        let (_, db) = try TestPostgreSQL.migrated()
        #expect(try Migrator.applied(db) == Migrator.all.map(\.name))
        #expect(Migrator.postgreSQL.map(\.name) == Migrator.all.map(\.name))
        #expect(try Migrator.migrate(db).isEmpty)
    }

    @Test func hostsMigratingTogetherApplyEachStepOnce() throws {
        let url = try TestPostgreSQL.freshDatabase()
        let results = onParallelConnections(4, url: url) { db, _ in try Migrator.migrate(db) }
        let applied = try results.map { try $0.get() }
        #expect(applied.flatMap { $0 }.sorted() == Migrator.all.map(\.name).sorted(), "each step applied by exactly one host")
    }

    /// Kills the backend serving `db`; answers its pid.
    @discardableResult
    func killBackend(of db: PostgreSQLDatabase, with killer: PostgreSQLDatabase) throws -> Int64 {
        let pid = try #require(try db.first("SELECT pg_backend_pid()", []) { $0.int(0) })
        #expect(try killer.first("SELECT pg_terminate_backend(?)", [.integer(pid)]) { $0.bool(0) } == true)
        return pid
    }

    @Test func aReadOrATransactionOnAConnectionWhoseBackendDiedRunsOnANewOne() throws {
        let url = try TestPostgreSQL.freshDatabase()
        let db = TestPostgreSQL.connect(url), killer = TestPostgreSQL.connect(url)
        let pid = try killBackend(of: db, with: killer)
        let newPID = try db.first("SELECT pg_backend_pid()", []) { $0.int(0) }
        #expect(newPID != nil && newPID != pid, "the read ran on a new connection")
        #expect(try db.first("SELECT ?::bigint + 1", [.integer(41)]) { $0.int(0) } == 42, "statements are prepared again")
        try killBackend(of: db, with: killer)
        #expect(try db.transaction(.write) { try db.first("SELECT 7", []) { $0.int(0) } } == 7, "BEGIN reconnects too")
    }

    @Test func aWriteMetByALostConnectionIsUnavailableAndTheNextReconnects() throws {
        let url = try TestPostgreSQL.freshDatabase()
        let db = TestPostgreSQL.connect(url), killer = TestPostgreSQL.connect(url)
        try db.execute("CREATE TABLE t (v BIGINT)")
        try killBackend(of: db, with: killer)
        #expect(throws: StoreUnavailable.self) { try db.run("INSERT INTO t VALUES (1)", []) }
        try db.run("INSERT INTO t VALUES (2)", [])
        #expect(try db.first("SELECT SUM(v) FROM t", []) { $0.int(0) } == 2, "the write met by the outage was not repeated")
    }

    @Test func aConnectionLostInsideATransactionRunsNothingMoreOfIt() throws {
        let url = try TestPostgreSQL.freshDatabase()
        let db = TestPostgreSQL.connect(url), killer = TestPostgreSQL.connect(url)
        try db.execute("CREATE TABLE t (v BIGINT)")
        #expect(throws: StoreUnavailable.self) {
            try db.transaction(.write) {
                let pid = try db.first("SELECT pg_backend_pid()", []) { $0.int(0) } ?? 0
                _ = try killer.first("SELECT pg_terminate_backend(?)", [.integer(pid)]) { $0.bool(0) }
                _ = try? db.run("INSERT INTO t VALUES (1)", [])
                try db.run("INSERT INTO t VALUES (2)", [])
            }
        }
        #expect(try db.first("SELECT COUNT(*) FROM t", []) { $0.int(0) } == 0, "no statement ran outside the transaction")
    }

    @Test func anUnreachableServerIsUnavailableWithinTheTimeout() throws {
        let db = TestPostgreSQL.connect("postgresql://nobody@127.0.0.1:1/none", busyTimeout: 1)
        let started = Date()
        #expect(throws: StoreUnavailable.self) { try db.first("SELECT 1", []) { $0.int(0) } }
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test func aLockHeldPastTheBusyTimeoutIsBusyNotAHang() throws {
        let url = try TestPostgreSQL.freshDatabase()
        let holder = TestPostgreSQL.connect(url), waiter = TestPostgreSQL.connect(url, busyTimeout: 0.3)
        try holder.execute("CREATE TABLE t (v BIGINT); INSERT INTO t VALUES (1)")
        try holder.transaction(.write) {
            try holder.run("UPDATE t SET v = 2", [])
            let started = Date()
            do {
                _ = try waiter.transaction(.write) { try waiter.run("UPDATE t SET v = 3", []) }
                Issue.record("the update did not wait for the lock")
            } catch let error as StoreBusy {
                #expect(error.waitedFor.contains("PostgreSQL"), "\(error)")
            }
            #expect(Date().timeIntervalSince(started) < 2)
        }
    }
}
