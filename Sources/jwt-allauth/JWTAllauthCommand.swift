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
        version: Version.release,
        subcommands: [
            InitCommand.self, DevCommand.self, ServeCommand.self, WorkerCommand.self, MigrateCommand.self, CheckCommand.self,
            UsersCommand.self, CreateUserCommand.self, ImportDjangoUsersCommand.self, PurgeTokensCommand.self, SessionsCommand.self,
            InviteCommand.self, VerifyEmailCommand.self, DeactivateCommand.self, MFARemoveCommand.self,
            MailCommand.self, MailerCommand.self,
            BackupCommand.self, MigrateStoreCommand.self, ConfigReferenceCommand.self,
            RotateKeyCommand.self,
        ]
    )

    /// ArgumentParser's own `main`, but for what a command's `run` throws: ArgumentParser's own
    /// errors keep its treatment (a usage error — a wrong flag, a failed `validate` — prints the
    /// usage and exits 64; help, `--version`, `ExitCode`); any other error is a command that could
    /// not do its work: one line, `jwt-allauth: error: …`, and exit status 1.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // Its help command answers by throwing, as a group command without a subcommand does.
            exit(withError: error)
        } catch {
            fflush(nil)
            FileHandle.standardError.write(Data("jwt-allauth: error: \(CommandFailure.message(error))\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// A command that could not do what it was asked (an unknown account, a refused password, a
/// missing file): `jwt-allauth: error: <description>` and exit status 1, without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }

    /// Any error `run` throws, in one line.
    static func message(_ error: any Error) -> String {
        let text: String
        switch error {
        case let refused as AccountAdministration.InputRefused: text = refused.problems.map(describe).joined(separator: "; ")
        case AccountAdministration.Failure.noSuchAccount: text = "no such account"
        case is CocoaError, is POSIXError: text = error.localizedDescription
        default: text = String(describing: error)
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// Sign-up's refusals, as an operator reads them.
    private static func describe(_ problem: AccountAdministration.InputProblem) -> String {
        switch problem {
        case .email(.invalid): "not a valid e-mail address"
        case .email(.unicodeDomain): "write the address's domain in its ASCII (xn--) form"
        case .emailTooLong(let maximum): "the address is longer than \(maximum) characters"
        case .controlCharacters(let field): "\(field) contains control characters"
        case .name(let field): "\(field) may hold letters, spaces, hyphens, apostrophes and periods only"
        case .password(let messages): "password refused: " + messages.joined(separator: " ")
        case .role(let code): "role \(code) is not one of \(RoleArgument.help)"
        }
    }
}

/// `--config FILE`, shared by every command that reads a configuration.
struct ConfigOption: ParsableArguments {
    static let systemPath = "/etc/jwt-allauth/config.yaml"
    static let localInstancePath = "var/config.yaml"

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "The configuration file (YAML).",
        discussion: "Default: $JWT_ALLAUTH_CONFIG, else \(systemPath); when neither is set or there, ./\(localInstancePath) (the local instance of `make run`) if it exists."))
    var config: String?

    /// The file to read, and whether it is the local instance's, found by the last rule: `--config`,
    /// else `$JWT_ALLAUTH_CONFIG`, else /etc/jwt-allauth/config.yaml; and only when none of those is
    /// given or there, ./var/config.yaml of a checkout where `make run` made one. A host with a
    /// system configuration never falls through to a directory it happens to be run from.
    static func resolve(explicit: String?, environment: [String: String], exists: (String) -> Bool) -> (path: String, local: Bool) {
        if let explicit { return (explicit, false) }
        if let variable = environment["JWT_ALLAUTH_CONFIG"], !variable.isEmpty { return (variable, false) }
        if !exists(systemPath) && exists(localInstancePath) {
            return (URL(fileURLWithPath: localInstancePath).standardizedFileURL.path, true)
        }
        return (systemPath, false)
    }

    var location: (path: String, local: Bool) {
        Self.resolve(explicit: config, environment: ProcessInfo.processInfo.environment) { FileManager.default.fileExists(atPath: $0) }
    }

    var path: String { location.path }

    /// Reads and validates the configuration; says on standard error when it is the local instance's.
    func load(text: String? = nil) throws -> Config {
        let (path, local) = location
        guard text != nil || FileManager.default.fileExists(atPath: path) else {
            guard path == Self.systemPath else { throw CommandFailure("config: \(path) does not exist") }
            throw CommandFailure("no configuration: \(path) does not exist; give --config FILE or set JWT_ALLAUTH_CONFIG "
                                 + "(in a checkout, ./\(Self.localInstancePath) of `make run` is found by itself)")
        }
        if local {
            note("using \(path), the local instance (no --config, JWT_ALLAUTH_CONFIG or \(Self.systemPath))")
        }
        return try Config.load(path: path, text: text ?? Config.readText(path: path))
    }
}

/// `--algorithm` of `init` and `dev`, any case; a usage error otherwise.
func tokenAlgorithm(_ text: String) throws -> TokenAlgorithm {
    guard let algorithm = TokenAlgorithm.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
        throw ValidationError("--algorithm must be one of RS256, ES256, EdDSA, HS256")
    }
    return algorithm
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
            throw CommandFailure("social.callback_urls: no callback URL is listed, so social/<provider>/code/ refuses every request;"
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
