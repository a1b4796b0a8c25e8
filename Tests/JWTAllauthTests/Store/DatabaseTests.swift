import Foundation
import Testing
@testable import AllauthStore

/// The SQLite layer keeps text whole, NUL bytes included, in both directions.
struct DatabaseTests {
    @Test func textWithANULIsBoundAndReadWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString).sqlite3").path
        defer { for suffix in ["", "-wal", "-shm", "-writer.lock"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (v TEXT)")
        try db.run("INSERT INTO t (v) VALUES (?)", [.text("a@example.com\u{0}x")])
        #expect(try db.first("SELECT v FROM t") { $0.string(0) } == "a@example.com\u{0}x")
        #expect(try db.first("SELECT COUNT(*) FROM t WHERE v = ?", [.text("a@example.com")]) { $0.int(0) } == 0,
                "a lookup by the part before the NUL finds nothing")
        #expect(try db.first("SELECT length(CAST(? AS BLOB))", [.text("")]) { $0.int(0) } == 0, "empty text stays empty, not NULL")
    }
}
