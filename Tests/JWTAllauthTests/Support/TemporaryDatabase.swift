import Foundation
@testable import AllauthStore

extension Database {
    /// A fresh, migrated database file in the temporary directory, for store-level tests.
    static func temporaryMigrated(_ name: String) throws -> Database {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).sqlite3").path
        let db = try Database(path: path)
        try Migrator.migrate(db)
        return db
    }
}
