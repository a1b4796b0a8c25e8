import Foundation
import Testing
@testable import AllauthStore

/// `database.url` and `database.password_file`: which store, validated at start by key name.
extension ConfigTests {
    @Test func withoutAURLTheStoreIsTheSQLiteFileOfDatabasePath() throws {
        #expect(try parse("").database.location == .sqlite(path: "/etc/jwt-allauth/jwt-allauth.sqlite3"))
        #expect(try parse("database: {path: data/db.sqlite3}").database.location == .sqlite(path: "/etc/jwt-allauth/data/db.sqlite3"))
    }

    @Test func anSQLiteURLNamesTheFileRelativeToTheConfig() throws {
        let config = try parse("database: {url: 'sqlite:var/auth.sqlite3'}")
        #expect(config.database.location == .sqlite(path: "/etc/jwt-allauth/var/auth.sqlite3"))
        #expect(config.database.path == "/etc/jwt-allauth/var/auth.sqlite3", "the SQLite commands read the same file")
        #expect(try parse("database: {url: 'sqlite:///srv/a.sqlite3'}").database.location == .sqlite(path: "/srv/a.sqlite3"))
    }

    @Test func aPostgreSQLURLComesFromTheFileOrTheEnvironment() throws {
        let url = "postgresql://auth@db.example.com:5432/auth?sslmode=verify-full"
        #expect(try parse("database: {url: '\(url)'}").database.location == .postgreSQL(url: url, password: nil))
        #expect(try parse("", ["JWT_ALLAUTH_DATABASE_URL": "postgres://auth@10.0.0.5/auth"]).database.location
                == .postgreSQL(url: "postgres://auth@10.0.0.5/auth", password: nil))
    }

    @Test func aBadURLStopsTheStartNamingTheKey() {
        #expect(error("database: {url: 'mysql://x@y/z'}")?.key == "database.url")
        #expect(error("database: {url: 'sqlite:'}")?.key == "database.url")
        #expect(error("", ["JWT_ALLAUTH_DATABASE_URL": "db.example.com"])?.key == "database.url")
    }

    @Test func thePasswordFileIsReadAtStartWithoutItsNewline() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pg-password-\(UUID().uuidString)")
        try "s3cret p@ss\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try parse("database: {url: 'postgresql://auth@db/auth', password_file: '\(file.path)'}")
        #expect(config.database.location == .postgreSQL(url: "postgresql://auth@db/auth", password: "s3cret p@ss"))
        #expect(error("database: {url: 'postgresql://auth@db/auth', password_file: /nonexistent/pw}")?.key == "database.password_file")
        #expect(error("database: {password_file: '\(file.path)'}")?.key == "database.password_file", "only for PostgreSQL")
    }

    @Test func aPasswordInTheURLIsNeverShown() {
        let location = StoreLocation.postgreSQL(url: "postgresql://auth:hunter2@db/auth?password=hunter3&sslmode=require", password: "x")
        #expect(location.description == "postgresql://auth:***@db/auth?password=***&sslmode=require")
        #expect(error("database: {url: 'mysql://auth:hunter2@db/auth'}")?.problem.contains("hunter2") == false)
    }
}
