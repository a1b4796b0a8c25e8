import AllauthCore
import AllauthDomain
import AllauthRuntime
import AllauthStore
import ArgumentParser
import Foundation
import Logging

@main
struct JWTAllauthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt-allauth",
        abstract: "JWT access/refresh authentication behind nginx (FastCGI worker pool, SQLite).",
        subcommands: [
            InitCommand.self, DevCommand.self, ServeCommand.self, WorkerCommand.self, MigrateCommand.self, CheckCommand.self,
            CreateUserCommand.self, ImportDjangoUsersCommand.self, PurgeTokensCommand.self, SessionsCommand.self,
            InviteCommand.self, VerifyEmailCommand.self, DeactivateCommand.self, MFARemoveCommand.self,
            MailCommand.self, MailerCommand.self,
            BackupCommand.self, MigrateStoreCommand.self, ConfigReferenceCommand.self,
        ]
    )
}

/// `--config FILE`, shared by every command that reads a configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The configuration file (YAML).")
    var config: String = ProcessInfo.processInfo.environment["JWT_ALLAUTH_CONFIG"] ?? "/etc/jwt-allauth/config.yaml"

    func load(text: String? = nil) throws -> Config {
        do {
            return try Config.load(path: config, text: text ?? Config.readText(path: config))
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
    }
}

func makeLogger(_ label: String, level: String = "info") -> Logger {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}

/// Opens the database, applying pending migrations.
func openMigrated(_ config: Config) throws -> any SQLConnection {
    let db = try openStore(config)
    try Migrator.migrate(db)
    return db
}

/// Opens the configured store (an SQLite file's directory is made first).
func openStore(_ config: Config) throws -> any SQLConnection {
    if case .sqlite(let path) = config.database.location {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
    }
    return try config.database.connect()
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        let applied = try Migrator.migrate(try openStore(config))
        print(applied.isEmpty ? "No migrations to apply." : applied.map { "Applied \($0)" }.joined(separator: "\n"))
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Validate the configuration, keys and templates (each rendered once with sample data), then exit.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        let keys = try KeySet.load(config.tokens)
        let templates = try TemplateLibrary(config.templates)
        let mfaKey = try MFAKey.load(config.mfa)
        let commonPasswords = try PasswordPolicy.commonPasswords(in: ShareDirectory.locate())
        if !config.social.providers.isEmpty && config.social.callbackURLs.isEmpty {
            // The service starts (the token flow needs no callback), but every code-flow sign-in fails.
            throw ValidationError("social.callback_urls: no callback URL is listed, so social/<provider>/code/ refuses every request;"
                                  + " list the callback_url each of your apps sends")
        }
        print("config ok: \(config.path)")
        print("password validators: minimum length \(config.accounts.passwordMinLength), \(commonPasswords.count) common passwords")
        print("templates ok: \(config.templates.directory.map { "shipped, overridden from \($0)" } ?? "shipped")")
        print("translations ok: \(templates.translations.languages.joined(separator: ", ")); default \(templates.translations.defaultLanguage)")
        print("access tokens: \(keys.accessSigner.algorithm), kid \(keys.accessSigner.kid); \(keys.accessVerifiers.count) verification key(s)")
        print("mfa: \(config.mfa.mode.rawValue)\(mfaKey != nil ? ", key \(config.mfa.secretKey)" : "")")
        if !config.social.providers.isEmpty {
            print("social: \(config.social.providers.map(\.id).joined(separator: ", ")); \(config.social.callbackURLs.count) callback URL(s)")
        }
        print("workers \(config.server.workers) × threads \(config.server.threads) on \(config.server.socket)")
        reportExposedFiles(config)
        guard case .postgreSQL = config.database.location else {
            // An SQLite file is not opened here: check may run as another user than the service.
            print("database: \(config.database.location.description)")
            return
        }
        // A shared server is reached now, and its schema compared (the same names on both engines).
        let db = try config.database.connect()
        var applied: [String] = []
        do {
            try db.query("SELECT name FROM schema_migrations ORDER BY name") { applied.append($0.string(0)) }
        } catch is DatabaseError {
            // No schema yet (an unreachable server throws StoreUnavailable, and check fails).
        }
        let pending = Migrator.steps(for: db.engine).map(\.name).filter { !applied.contains($0) }
        print("database: \(config.database.location.description) answers, schema \(applied.last ?? "empty")"
              + (pending.isEmpty ? "" : ", \(pending.count) migration(s) pending: jwt-allauth migrate"))
    }

    /// Warnings, not errors: a key or database others can read still works, and the unit runs
    /// check before every start (so they land in the journal). The service's group is the group of
    /// the process, as the unit runs it; run as root, the group the configuration is shared with.
    private func reportExposedFiles(_ config: Config) {
        var info = stat()
        let group = geteuid() == 0 && stat(config.path, &info) == 0 ? info.st_gid : getegid()
        let findings = PrivateFileAudit(config: config, serviceGroup: group).findings()
        for finding in findings {
            FileHandle.standardError.write(Data("warning: \(finding)\n".utf8))
        }
        print(findings.isEmpty ? "files: keys, database and backups are private" : "files: \(findings.count) warning(s) above")
    }
}
