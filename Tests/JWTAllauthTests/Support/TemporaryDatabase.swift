import Foundation
@testable import AllauthStore

extension SQLiteDatabase {
    /// A fresh, migrated database file in the temporary directory, for store-level tests.
    static func temporaryMigrated(_ name: String) throws -> SQLiteDatabase {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).sqlite3").path
        let db = try SQLiteDatabase(path: path)
        try Migrator.migrate(db)
        return db
    }
}
