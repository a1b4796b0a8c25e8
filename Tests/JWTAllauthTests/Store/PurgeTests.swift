import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// `Purge` on a real SQLite file, beside the pool's writers: whatever came before them, expired
/// sessions inserted in one go with random keys (each row its own index pages) are deleted a few
/// hundred rows per transaction, and the purge's commits never carry a WAL checkpoint.
@Suite(.serialized)
final class PurgeTests {
    /// Sessions still valid, older than the expired ones: the rotations of a busy day. Fast slices
    /// over them once grew the next slice to thousands of rows.
    static let liveRows = 20_000
    static let expiredRows = 60_000
    /// `Purge.maxSliceRows`, as the behaviour the pool relies on.
    static let mostRowsPerTransaction = 256
    /// A sanity bound, far above what 256 random-key deletions take (milliseconds) so that a slice
    /// preempted on a loaded machine does not fail it; a checkpoint of the whole WAL inside a
    /// COMMIT, or a slice of tens of thousands of rows, takes seconds.
    static let longestHoldAllowed: Duration = .seconds(1)

    let db: SQLiteDatabase
    let now = Int64(Date().timeIntervalSince1970)

    init() throws {
        db = try SQLiteDatabase.temporaryMigrated("purge")
    }

    deinit {
        for suffix in ["", "-wal", "-shm", "-writer.lock"] { try? FileManager.default.removeItem(atPath: db.path + suffix) }
    }

    /// `count` sessions of `userID` expiring at `expires`, in one statement (rowids contiguous,
    /// `jti` and `session` random).
    private func insertSessions(_ count: Int, userID: Int64, expires: Int64) throws {
        try db.run("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO refresh_tokens (jti, session, user_id, enabled, created, expires, session_iat)
            SELECT lower(hex(randomblob(16))), lower(hex(randomblob(16))), ?, 1, ? - 90000, ?, ? - 90000 FROM n
            """, [.integer(Int64(count)), .integer(userID), .integer(now), .integer(expires), .integer(now)])
    }

    @Test func expiredSessionsInsertedInOneGoAreDeletedAFewHundredRowsPerTransaction() throws {
        let user = try UserStore(db).create(email: "purge@example.com", passwordHash: "x", emailVerified: true)
        try insertSessions(Self.liveRows, userID: user.id, expires: now + 86400)
        try insertSessions(Self.expiredRows, userID: user.id, expires: now - 3600)

        // `progress` follows each slice: the rows one transaction deleted are the step in the total.
        var previousTotal = 0
        var mostInOneSlice = 0
        let report = try Purge(db).run(now: now, dryRun: false) { sofar in
            mostInOneSlice = max(mostInOneSlice, sofar.total - previousTotal)
            previousTotal = sofar.total
        }
        #expect(report.refreshTokens == Self.expiredRows)
        #expect(mostInOneSlice <= Self.mostRowsPerTransaction, "one transaction deleted \(mostInOneSlice) rows")
        #expect(report.longestHold < Self.longestHoldAllowed, "the longest slice held the write lock \(report.longestHold)")
        #expect(try db.first("SELECT COUNT(*) FROM refresh_tokens") { $0.int(0) } == Int64(Self.liveRows))
    }

    @Test func thePurgesCommitsNeverCheckpointAndItsConnectionGetsItsAutomaticCheckpointBack() throws {
        let user = try UserStore(db).create(email: "purge@example.com", passwordHash: "x", emailVerified: true)
        try insertSessions(5_000, userID: user.id, expires: now - 3600)
        try db.run("PRAGMA wal_autocheckpoint = 700")

        // `progress` runs between slices: what the connection would do at each COMMIT.
        var automaticCheckpointDuringThePurge: Set<Int64> = []
        let report = try Purge(db).run(now: now, dryRun: false) { _ in
            automaticCheckpointDuringThePurge.insert((try? db.first("PRAGMA wal_autocheckpoint") { $0.int(0) }) ?? -1)
        }
        #expect(report.refreshTokens == 5_000 && report.slices > 1)
        #expect(automaticCheckpointDuringThePurge == [0], "pages that start a checkpoint inside COMMIT: \(automaticCheckpointDuringThePurge)")
        #expect(try db.first("PRAGMA wal_autocheckpoint") { $0.int(0) } == 700)
    }

    /// Spent id_tokens live until they expire, reauthentications for a day: then the purge drops them.
    @Test func spentIDTokensPastExpiryAndDayOldReauthenticationsGo() throws {
        let user = try UserStore(db).create(email: "proofs@example.com", passwordHash: "x", emailVerified: true, dateJoined: now)
        _ = try SpentIDTokens(db).spend(IDTokenUse(digest: "expired", expires: now - 1))
        _ = try SpentIDTokens(db).spend(IDTokenUse(digest: "live", expires: now + 600))
        for (session, at) in [("old", now - 86_401), ("recent", now - 60)] {
            _ = try db.run("INSERT INTO reauthentications (session, user_id, at) VALUES (?, ?, ?)", [.text(session), .integer(user.id), .integer(at)])
        }
        let report = try Purge(db).run(now: now, dryRun: false)
        #expect(report.proofRows == 2)
        #expect(try db.first("SELECT group_concat(digest) FROM social_id_tokens") { $0.string(0) } == "live")
        #expect(try db.first("SELECT group_concat(session) FROM reauthentications") { $0.string(0) } == "recent")
    }
}
