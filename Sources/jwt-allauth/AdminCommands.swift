import AllauthCore
import AllauthDomain
import AllauthRuntime
import AllauthStore
import ArgumentParser
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Set up a deployment directory: config, keys, nginx site and systemd units.",
        discussion: "Run as root: the files are root's, readable by the service's group (--group) where they must be.")

    @Argument(help: "The directory to write (e.g. /etc/jwt-allauth).") var directory: String
    @Option(help: "The public host name nginx serves.") var domain: String
    @Option(help: "Access-token signature: RS256 (4096-bit key), ES256, EdDSA or HS256.") var algorithm: String = "RS256"
    @Flag(help: "Add an SMTP mail section to the configuration.") var email = false
    @Flag(help: "Replace existing keys and config.") var force = false
    @Option(help: "The FastCGI socket path.") var socket = "/run/jwt-allauth/jwt-allauth.sock"
    @Option(name: .customLong("trusted-proxy"), help: "An address or CIDR whose X-Forwarded-For nginx may trust (repeatable).")
    var trustedProxies: [String] = []
    @Option(help: "The user the service runs as.") var user = "jwt-allauth"
    @Option(help: "The service's own group: it reads the configuration and keys through it.") var group = "jwt-allauth"
    @Option(name: .customLong("socket-group"), help: "nginx's group, given the socket and nothing else.") var socketGroup = "www-data"
    @Flag(name: .customLong("site-only"),
          help: "Only rewrite the nginx files and the systemd units (after an upgrade, or new options); keep the config and keys.")
    var siteOnly = false
    @Option(name: .customLong("metrics-from"), help: "An address or CIDR allowed to scrape metrics/ (repeatable; default loopback).")
    var metricsFrom: [String] = []

    func validate() throws { _ = try tokenAlgorithm(algorithm) }

    func run() throws {
        var options = Deployment.Options(directory: URL(fileURLWithPath: directory), domain: domain)
        options.algorithm = try tokenAlgorithm(algorithm)
        options.email = email
        options.force = force
        options.socket = socket
        options.trustedProxies = trustedProxies
        options.user = user
        options.group = group
        options.socketGroup = socketGroup
        options.siteOnly = siteOnly
        options.metricsFrom = metricsFrom
        options.http2Directive = NginxVersion.installed()?.takesHTTP2Directive ?? false
        options.binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? options.binary
        // As root, the site's files become root's and the service's group's; otherwise they stay the writer's.
        let groupEntry = getgrnam(group)
        if geteuid() == 0, let groupEntry { options.serviceGroupID = groupEntry.pointee.gr_gid }
        let written = try Deployment(options: options, share: ShareDirectory.locate()).write()
        for path in written { print("wrote \(path)") }
        let dir = options.directory.standardizedFileURL.path
        let units = Deployment.unitFiles.map { "\(dir)/\($0)" }.joined(separator: " ")
        if siteOnly {
            print("""

                Next steps (config.yaml and keys/ are as they were):
                  1. diff the new nginx files with those in /etc/nginx (the site's certificate paths are to fill in again),
                     copy them over, then nginx -t && systemctl reload nginx
                  2. cp \(units) /etc/systemd/system/ && systemctl daemon-reload && systemctl restart jwt-allauth
                """)
            return
        }
        // What the package's postinst does; by hand after `make install`.
        let account = Self.accountCommands(user: user, group: group, groupExists: groupEntry != nil)
        let ownership = options.serviceGroupID == nil ? "\n     \(account)chgrp -R \(group) \(dir)" : ""
        let stateDirectory = FileManager.default.fileExists(atPath: Deployment.stateDirectory) ? ""
            : "install -d -o \(user) -g \(group) -m 0700 \(Deployment.stateDirectory) && "
        print("""

            Next steps:
              1. Review \(dir)/config.yaml\(email ? " (fill in the mail section)" : ""). Its files are root's, readable by the
                 group \(group) (the service's) where the service needs them: it reads them and cannot change them.\(ownership)
              2. \(stateDirectory)sudo -u \(user) jwt-allauth migrate --config \(dir)/config.yaml
                 (the database goes to \(Deployment.stateDirectory), the service user's alone)
              3. sudo -u \(user) jwt-allauth create-user --config \(dir)/config.yaml --email admin@\(domain) --role staff --password-stdin
              4. mkdir -p /etc/nginx/jwt-allauth && cp \(dir)/nginx/fastcgi-params.conf \(dir)/nginx/auth-request.conf \(dir)/nginx/json-errors.conf /etc/nginx/jwt-allauth/
                 cp \(dir)/nginx/\(domain).conf /etc/nginx/sites-available/ && ln -s ../sites-available/\(domain).conf /etc/nginx/sites-enabled/
                 and fill in the certificate paths; size nginx.conf as the site file's first lines say;
                 then nginx -t && systemctl reload nginx
              5. cp \(units) /etc/systemd/system/
                 systemctl daemon-reload && systemctl enable --now jwt-allauth jwt-allauth-purge.timer
              6. curl https://\(domain)/jwt-allauth/health/
            """)
    }
}

extension InitCommand {
    /// What is missing of the service's group and user, as commands ending in `&& `.
    static func accountCommands(user: String, group: String, groupExists: Bool) -> String {
        var commands = groupExists ? "" : "groupadd --system \(group) && "
        if let account = getpwnam(user) {
            if !groupExists || getgrnam(group)?.pointee.gr_gid != account.pointee.pw_gid { commands += "usermod --gid \(group) \(user) && " }
        } else {
            commands += "useradd --system --gid \(group) --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \(user) \\\n       && "
        }
        return commands
    }
}

struct CreateUserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-user", abstract: "Create an account (verified, active), checked as sign-up checks it.")
    @OptionGroup var options: ConfigOption
    @Option var email: String
    @Option(help: ArgumentHelp("The role: \(RoleArgument.help).", valueName: "role")) var role = "user"
    @Option var firstName = ""
    @Option var lastName = ""
    @Flag(help: "Read the password from standard input (its first line; a terminal asks twice, unechoed); otherwise the account gets no usable password.")
    var passwordStdin = false

    func run() throws {
        let role = try RoleArgument.code(role)
        let config = try options.load()
        let administration = config.administration(try openMigrated(config))
        let password = passwordStdin ? try PasswordInput.read(for: email) : nil
        let new = AccountAdministration.NewAccount(email: email, password: password, firstName: firstName, lastName: lastName, role: role)
        guard let user = try administration.create(new) else { throw CommandFailure("an account with \(email) exists already") }
        print("created user \(user.id) <\(AccountText.printable(user.email))> role \(Role.describe(user.role))")
    }
}

struct ImportDjangoUsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-django-users",
        abstract: "Import users (with their password hashes) from a Django SQLite database file.")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The Django database file (db.sqlite3).") var source: String
    @Option(help: "The user table (default: jwt_allauth_jauser, else auth_user).") var table: String?

    func run() throws {
        let config = try options.load()
        guard FileManager.default.fileExists(atPath: source) else { throw CommandFailure("\(source) does not exist") }
        let report = try DjangoImport(source: try SQLiteDatabase(path: source), target: try openMigrated(config)).run(table: table)
        print("imported \(report.imported) user(s); skipped \(report.skippedExisting) already present, \(report.skippedWithoutEmail) without e-mail")
        guard !report.withoutUsablePassword.isEmpty else { return }
        print("\(report.withoutUsablePassword.count) imported without a usable password (a password reset sets one); "
              + "checked hashers: \(DjangoPasswordHashes.supported.joined(separator: ", ")):")
        for row in report.withoutUsablePassword { print("  \(row)") }
    }
}

struct PurgeTokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge-tokens", abstract: "Delete expired refresh tokens, one-time tokens, old throttle counters and old mail.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "Count, delete nothing.") var dryRun = false

    func run() throws {
        let config = try options.load()
        let db = try openMigrated(config)
        // A long purge says how far it got, once a second, on stderr (stdout keeps the summary).
        var lastShown = Date()
        let report = try Purge(db).run(now: Int64(Date().timeIntervalSince1970), dryRun: dryRun) { sofar in
            guard Date().timeIntervalSince(lastShown) >= 1 else { return }
            lastShown = Date()
            FileHandle.standardError.write(Data("purge-tokens: \(sofar.total) row(s) deleted so far…\n".utf8))
        }
        let verb = dryRun ? "would be deleted" : "deleted"
        print("expired sessions: \(report.refreshTokens) \(verb).")
        print("one-time tokens: \(report.oneTimeTokens) \(verb).")
        print("throttle counters: \(report.throttleHits) \(verb).")
        print("mail sent or failed over 30 days ago: \(report.sentMail) \(verb).")
        print("expired MFA challenges, setup secrets and old MFA failures: \(report.mfaRows) \(verb).")
        print("spent id_tokens and reauthentications past their use: \(report.proofRows) \(verb).")
        print("\(report.total) expired row(s) \(verb).")
        if report.slices > 0 {
            let longest = report.longestHold.components
            print(String(format: "%d transaction(s); the longest held the write lock %.1f ms.", report.slices,
                         Double(longest.seconds) * 1000 + Double(longest.attoseconds) / 1e15))
        }
    }
}

struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions", abstract: "List (or revoke) a user's sessions.")
    @OptionGroup var options: ConfigOption
    @Option var user: String
    @Flag(help: "Revoke every session of the user.") var revokeAll = false

    func run() throws {
        let config = try options.load()
        let db = try openMigrated(config)
        guard let account = try UserStore(db).find(email: user) else { throw CommandFailure("no account with \(user)") }
        let whitelist = Whitelist(db)
        let sessions = try whitelist.sessions(userID: account.id)
        for session in sessions { print(AccountText.session(session)) }
        print("\(sessions.count) session(s) for \(AccountText.printable(account.email))")
        if revokeAll {
            print("revoked \(try whitelist.revoke(userID: account.id)) refresh token(s)")
        }
    }
}

/// `jwt-allauth invite`: what `POST registration/user-register/` does, for an operator.
struct InviteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Create an invited account and queue its invitation mail (the link sets the password).")
    @OptionGroup var options: ConfigOption
    @Option var email: String
    @Option(help: ArgumentHelp("The role: \(RoleArgument.help).", valueName: "role")) var role = "user"
    @Option var firstName = ""
    @Option var lastName = ""

    func run() throws {
        let role = try RoleArgument.code(role)
        let config = try options.load()
        let invitee = Invitee(email: email, role: role, firstName: firstName, lastName: lastName)
        switch try config.administration(openMigrated(config)).invite(invitee) {
        case .invited(let userID):
            print("invited user \(userID) <\(UserStore.normalise(email))> role \(Role.describe(role)); the invitation mail is queued")
        case .emailTaken:
            throw CommandFailure("an account with \(email) exists already")
        case .notAllowed, .roleAboveInviter:
            // Only an account's invitation is limited by its role; the operator's never is.
            preconditionFailure("the operator's invitation was refused for a role")
        }
    }
}

/// `jwt-allauth verify-email`: marks an address verified (and enables its waiting sign-up sessions).
struct VerifyEmailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify-email", abstract: "Mark an account's address verified.")
    @OptionGroup var options: ConfigOption
    @Option var email: String

    func run() throws {
        try administer(options, email) { administration, _ in try administration.verifyEmail(email) }
        print("verified \(email)")
    }
}

/// `jwt-allauth deactivate --email`: the name `users deactivate EMAIL` replaces, kept for the
/// scripts that use it.
struct DeactivateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deactivate", abstract: "The same as `users deactivate EMAIL` (kept for existing scripts).", shouldDisplay: false)
    @OptionGroup var options: ConfigOption
    @Option var email: String

    func run() throws { try UsersCommand.Deactivate.deactivate(email, options) }
}

struct MFARemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa-remove", abstract: "Remove an account's TOTP authenticator and recovery codes (a lost phone) and revoke its sessions.")
    @OptionGroup var options: ConfigOption
    @Option var email: String

    func run() throws {
        let removed = try administer(options, email) { administration, _ in try administration.removeMFA(email) }
        print("removed \(removed) authenticator(s) of \(email); its sessions are revoked")
    }
}
