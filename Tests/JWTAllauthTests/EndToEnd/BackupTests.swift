import Foundation
import Testing
@testable import AllauthStore

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth backup` against a pool under a refresh load, then a service started on the copy.
@Suite(.serialized, .enabled(if: TestEngine.isSQLite, "jwt-allauth backup copies the SQLite file; PostgreSQL has its own tools"))
struct BackupTests {
    @Test func aBackupUnderRefreshLoadIsConsistentAndServesTheTokensLiveWhenTaken() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_THROTTLE_SCALE": "1000"])
        try instance.createUser("backup@example.com")
        // Sessions nobody touches during the backup: their tokens are the ones live when it is taken.
        let idle = try (0..<6).map { _ in try instance.session("backup@example.com") }
        let busy = try (0..<8).map { _ in try instance.session("backup@example.com") }
        let load = RefreshLoad(instance, sessions: busy, maximumDuration: 60)
        load.start()
        let warm = Date().addingTimeInterval(10)
        while load.answered < 50 && Date() < warm { usleep(10_000) }

        let copy = instance.directory.appendingPathComponent("copy.sqlite3").path
        let before = load.answered
        let backup = try instance.command(["backup", copy])
        let during = load.answered - before
        let tally = load.stop()
        #expect(backup.status == 0, "\(backup.output)")
        #expect(during > 0, "rotations went on while the backup ran")
        #expect(tally.failed == 0 && tally.lostSessions == 0, "the backup held up no request: \(tally)")
        #expect(try instance.command(["backup", copy]).status != 0, "an existing file is never overwritten")

        let restored = try SQLiteDatabase(path: copy)
        #expect(try restored.first("PRAGMA integrity_check") { $0.string(0) } == "ok")
        #expect(try restored.first("SELECT COUNT(DISTINCT session) FROM refresh_tokens") { $0.int(0) } == Int64(idle.count + busy.count))

        // Restore as docs/operations.md says: a directory with the configuration, the keys and the copy
        // as the database; a service started on it accepts the idle sessions' tokens.
        let site = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-restore-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: instance.directory.appendingPathComponent("config.yaml"), to: site.appendingPathComponent("config.yaml"))
        try FileManager.default.copyItem(at: instance.directory.appendingPathComponent("keys"), to: site.appendingPathComponent("keys"))
        try FileManager.default.copyItem(atPath: copy, toPath: site.appendingPathComponent("jwt-allauth.sqlite3").path)
        instance.stop()
        let second = try TestInstance(environment: ["JWT_ALLAUTH_THROTTLE_SCALE": "1000"], directory: site)
        for session in idle {
            #expect(try second.refresh(cookie: session.refresh).status == 200)
        }
    }
}
