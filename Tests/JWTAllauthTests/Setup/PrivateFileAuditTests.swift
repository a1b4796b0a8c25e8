import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth check` names each key, database or backup another user or group could read, with the fix.
@Suite(.serialized)
struct PrivateFileAuditTests {
    /// A site as `init` makes it (its files given to this process's group, standing in for the
    /// service's) with its database in a data directory of its own, made and used by the store.
    final class Site {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString.prefix(8))")
        var data: URL { root.appendingPathComponent("data") }
        var database: String { data.appendingPathComponent("jwt-allauth.sqlite3").path }
        let config: Config
        /// Open, so the -wal and -shm files are there to be looked at.
        let db: SQLiteDatabase

        init() throws {
            var options = Deployment.Options(directory: root.appendingPathComponent("etc"), domain: "auth.example.com")
            options.algorithm = .es256
            options.serviceGroupID = getegid()
            try Deployment(options: options, share: DeploymentTests.share).write()
            let data = root.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            config = try Config.load(path: root.appendingPathComponent("etc/config.yaml").path,
                                     environment: ["JWT_ALLAUTH_DATABASE_PATH": data.appendingPathComponent("jwt-allauth.sqlite3").path])
            db = try SQLiteDatabase(path: config.database.path)
            try Migrator.migrate(db)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func findings() -> [PrivateFileAudit.Finding] { PrivateFileAudit(config: config, serviceGroup: getegid()).findings() }
    }

    @Test func aSiteAsInitAndTheStoreMakeItHasNothingToSay() throws {
        let site = try Site()
        #expect(site.findings() == [])
        #expect(FileManager.default.fileExists(atPath: site.database + "-wal"), "the -wal file is looked at too")
    }

    @Test func aBackupOpenToEveryoneIsNamedWithTheChmodThatClosesIt() throws {
        let site = try Site()
        let backups = site.data.appendingPathComponent("backups")
        try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let backup = backups.appendingPathComponent("2026-12-05.sqlite3").path
        _ = try OnlineBackup(SQLiteDatabase(path: site.database)).copy(to: backup)
        #expect(site.findings() == [], "a backup is made 0600")
        chmod(backup, 0o644)
        #expect(site.findings() == [.init(path: backup, problem: "is open to every local user (mode 644)", fix: "chmod 600 \(backup)")])
        chmod(site.data.path, 0o755)
        #expect(site.findings().first == .init(path: site.data.path, problem: "is open to every local user (mode 755)",
                                                fix: "chmod 700 \(site.data.path)"))
    }

    @Test func aKeyReadableByAnotherGroupIsNamedWithTheChownThatGivesItBack() throws {
        let site = try Site()
        let key = site.config.tokens.signingKey
        guard geteuid() == 0, let other = getgrnam("www-data")?.pointee.gr_gid, other != getegid() else { return }
        chown(key, 0, other)
        let group = String(cString: getgrgid(getegid()).pointee.gr_name)
        #expect(site.findings() == [.init(path: key, problem: "is open to the group www-data, not only the service's (mode 640)",
                                          fix: "chown root:\(group) \(key) && chmod 640 \(key)")])
    }

    @Test func aSecretWritableByItsGroupIsNamed() throws {
        let site = try Site()
        chmod(site.database, 0o660)
        #expect(site.findings().map(\.path) == [site.database])
        #expect(site.findings().first?.problem == "is writable by its group (mode 660)")
    }

    @Test func aProvidersSecretFileOrTheDatabasePasswordFileOpenToOthersIsNamed() throws {
        let site = try Site()
        let keys = site.root.appendingPathComponent("etc/keys")
        let secret = keys.appendingPathComponent("example.secret").path
        let password = keys.appendingPathComponent("postgresql.password").path
        for file in [secret, password] {
            #expect(FileManager.default.createFile(atPath: file, contents: Data("x\n".utf8), attributes: [.posixPermissions: 0o600]))
        }
        let config = try Config.load(path: site.root.appendingPathComponent("etc/config.yaml").path, environment: [
            "JWT_ALLAUTH_SOCIAL_PROVIDERS": "{example: {name: Example, issuer: \"https://id.example.com\", client_id: abc, client_secret_file: \"\(secret)\"}}",
            "JWT_ALLAUTH_DATABASE_URL": "postgresql://auth@127.0.0.1/auth",
            "JWT_ALLAUTH_DATABASE_PASSWORD_FILE": password,
        ])
        let audit = PrivateFileAudit(config: config, serviceGroup: getegid())
        #expect(audit.findings() == [], "0600, as the docs ask")
        for file in [secret, password] { chmod(file, 0o644) }
        #expect(audit.findings().map(\.path) == [password, secret])
        #expect(audit.findings().allSatisfy { $0.problem == "is open to every local user (mode 644)" }, "\(audit.findings())")
    }
}
