import Foundation
import Testing
@testable import AllauthStore

#if canImport(Glibc)
import Glibc
#endif

/// Every account's hash and session is in these files: their owner's alone, whatever the umask
/// (SQLite alone makes the database 0644 past any umask, and its -wal and -shm with the same mode).
struct DatabaseFileModeTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("modes-\(UUID().uuidString.prefix(8)).sqlite3").path
    }

    func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-writer.lock"] { unlink(path + suffix) }
    }

    @Test func theDatabaseItsWALAndSHMAndTheWriterLockAreMadeForTheirOwnerAlone() throws {
        let path = temporaryPath()
        defer { remove(path) }
        let db = try SQLiteDatabase(path: path)
        try Migrator.migrate(db)
        for suffix in ["", "-wal", "-shm", "-writer.lock"] {
            #expect(mode(path + suffix) == 0o600, "\(path + suffix): \(String(mode(path + suffix), radix: 8))")
        }
    }

    @Test func anExistingDatabaseKeepsItsModeForCheckToName() throws {
        let path = temporaryPath()
        defer { remove(path) }
        FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        _ = try SQLiteDatabase(path: path)
        #expect(mode(path) == 0o640)
    }

    @Test func aBackupIsMadeForItsOwnerAlone() throws {
        let path = temporaryPath(), copy = temporaryPath()
        defer { remove(path); remove(copy) }
        let db = try SQLiteDatabase(path: path)
        try Migrator.migrate(db)
        _ = try OnlineBackup(db).copy(to: copy)
        #expect(mode(copy) == 0o600)
    }
}
