import AllauthCore
import AllauthDomain
import AllauthRuntime
import AllauthStore
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth users …`: the accounts, as `manage.py` and the Django admin let the reference's
/// operators manage them. The rules are `AccountAdministration`'s; these commands parse and print.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "List, inspect and change accounts: list, show, set-password, set-role, activate, deactivate, delete.",
        discussion: "Roles: \(RoleArgument.help). Passwords are read from standard input, never from the command line.",
        subcommands: [List.self, Show.self, SetPassword.self, SetRole.self, Activate.self, Deactivate.self, Delete.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List accounts, oldest first.")
        @OptionGroup var options: ConfigOption
        @Option(help: "Only accounts whose address or name contains this text (any case).") var search: String?
        @Option(help: ArgumentHelp("Only accounts of this role: \(RoleArgument.help).", valueName: "role")) var role: String?
        @Flag(help: "Only deactivated accounts.") var inactive = false
        @Flag(help: "JSON instead of a table.") var json = false

        func run() throws {
            let role = try role.map(RoleArgument.code)
            let config = try options.load()
            let accounts = try config.administration(openMigrated(config)).list(search: search, role: role, active: inactive ? false : nil)
            if json {
                print(JSON.array(accounts.map(AccountText.json)).encodedString())
                return
            }
            let rows = accounts.map { account in
                [String(account.id), account.email, Role.describe(account.role), account.isActive ? "yes" : "no",
                 account.emailVerified ? "yes" : "no", HTTPDate.iso8601(account.dateJoined), account.lastLogin.map(HTTPDate.iso8601) ?? "never"]
            }
            if !rows.isEmpty {
                print(AccountText.table(header: ["ID", "EMAIL", "ROLE", "ACTIVE", "VERIFIED", "JOINED", "LAST LOGIN"], rows: rows))
            }
            print("\(accounts.count) account(s)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show an account: role, state, sessions, second factor, social connections, outstanding links.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The account's address.") var email: String
        @Flag(help: "JSON instead of text.") var json = false

        func run() throws {
            let details = try administer(options, email) { administration, _ in try administration.details(email) }
            print(json ? AccountText.json(details).encodedString() : AccountText.describe(details))
        }
    }

    struct SetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set an account's password, checked by sign-up's validators; its sessions end as after a password change.",
            discussion: "The password is the first line of standard input (a terminal asks twice, unechoed): `echo \"$PASSWORD\" | jwt-allauth users set-password EMAIL`.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The account's address.") var email: String

        func run() throws {
            let password = try PasswordInput.read(for: email)
            let (account, revoked, verification) = try administer(options, email) { administration, config in
                let (account, revoked) = try administration.setPassword(email, to: password)
                try audit(config, .passwordChanged(userID: account.id))
                return (account, revoked, config.accounts.emailVerification)
            }
            let address = AccountText.printable(account.email)
            print("set the password of \(address); revoked \(revoked) refresh token(s)")
            if !account.isActive { note("\(address) is deactivated: `jwt-allauth users activate \(address)` lets it log in") }
            if !account.emailVerified && verification == .mandatory {
                note("\(address) is not verified, and logins need that: `jwt-allauth verify-email --email \(address)`")
            }
        }
    }

    struct SetRole: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-role", abstract: "Give an account another role; its next refresh carries it.",
            discussion: "Roles: \(RoleArgument.help).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The account's address.") var email: String
        @Argument(help: "The new role.") var role: String

        func run() throws {
            let role = try RoleArgument.code(role)
            let before = try administer(options, email) { administration, config in
                let before = try administration.setRole(email, to: role)
                try audit(config, .roleChanged(userID: before.id, role: role))
                try warnIfNoInviterLeft(administration, after: before.role)
                return before
            }
            print("\(AccountText.printable(before.email)): role \(Role.describe(before.role)) → \(Role.describe(role))")
        }
    }

    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "activate", abstract: "Let a deactivated account log in again.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The account's address.") var email: String

        func run() throws {
            let before = try administer(options, email) { administration, config in
                let before = try administration.activate(email)
                if !before.isActive { try audit(config, .accountActivated(userID: before.id)) }
                return before
            }
            let address = AccountText.printable(before.email)
            print(before.isActive ? "\(address) is active already" : "activated \(address)")
        }
    }

    struct Deactivate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deactivate", abstract: "Deactivate an account and revoke its sessions, links and capabilities at once.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The account's address.") var email: String

        func run() throws { try Self.deactivate(email, options) }

        /// Also `jwt-allauth deactivate --email`, the older name.
        static func deactivate(_ email: String, _ options: ConfigOption) throws {
            let revoked = try administer(options, email) { administration, config in
                let (account, revoked) = try administration.deactivate(email)
                // The audit trail names the account by id; from the command line, so without a client address.
                try audit(config, .accountDeactivated(userID: account.id))
                try warnIfNoInviterLeft(administration, after: account.role)
                return revoked
            }
            print("deactivated \(email); revoked \(revoked) refresh token(s)")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete an account and everything of it: sessions, links, second factors, social connections, its mail.",
            discussion: "Asks first on a terminal; otherwise give --yes.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The account's address.") var email: String
        @Flag(help: "Delete without asking.") var yes = false

        func run() throws {
            let deletion = try administer(options, email) { administration, config in
                if !yes {
                    let account = try administration.account(email)
                    guard isatty(STDIN_FILENO) == 1 else {
                        throw CommandFailure("not deleting \(email) without --yes (standard input is not a terminal to ask on)")
                    }
                    let address = AccountText.printable(account.email)
                    guard Terminal.confirm("Delete account \(account.id) <\(address)> and everything of it? Type yes: ") else {
                        throw CommandFailure("not deleted")
                    }
                }
                let deletion = try administration.delete(email)
                try audit(config, .accountDeleted(userID: deletion.account.id))
                try warnIfNoInviterLeft(administration, after: deletion.account.role)
                return deletion
            }
            print("deleted account \(deletion.account.id) <\(AccountText.printable(deletion.account.email))>: \(deletion.refreshTokens) refresh token(s), "
                  + "\(deletion.links) link(s), \(deletion.authenticators) authenticator(s), \(deletion.socialAccounts) social connection(s), "
                  + "\(deletion.mails) mail(s)")
        }
    }
}

/// Runs `action` on the configured store's `AccountAdministration`; an unknown address fails with
/// one line naming it.
func administer<T>(_ options: ConfigOption, _ email: String, _ action: (AccountAdministration, Config) throws -> T) throws -> T {
    let config = try options.load()
    do {
        return try action(config.administration(openMigrated(config)), config)
    } catch AccountAdministration.Failure.noSuchAccount {
        throw CommandFailure("no account with \(email)")
    }
}

/// One line of the audit trail (`log.security_events`), from the command line: no client address.
private func audit(_ config: Config, _ event: SecurityEvent) throws {
    try SecurityLog.open(path: config.securityEventsPath).record(event, client: nil)
}

/// After a change that took an inviting role away: says so when no active account may invite any more.
private func warnIfNoInviterLeft(_ administration: AccountAdministration, after role: Int) throws {
    guard administration.mayInvite(role), try administration.activeInviters() == 0 else { return }
    note("no active account may invite any more (accounts.registration_allowed_roles); "
         + "`jwt-allauth users set-role EMAIL staff` or `create-user --role staff` makes one")
}

/// A remark on standard error, beside a command's output.
func note(_ text: String) {
    FileHandle.standardError.write(Data("jwt-allauth: note: \(text)\n".utf8))
}

/// `--role` and `set-role`'s ROLE: a role's name or its code.
enum RoleArgument {
    static let help = "user (0), superuser (900), staff (1000), or a custom code 0–32767"

    static func code(_ text: String) throws -> Int {
        guard let code = Role.code(text) else { throw CommandFailure("unknown role \"\(text)\": give \(help)") }
        return code
    }
}

/// A password for the command line: never an argument (the process list and shell history show
/// those), but the first line of standard input, or typed twice, unechoed, on a terminal.
enum PasswordInput {
    static func read(for email: String) throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true), !line.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw CommandFailure("no password on standard input")
            }
            return line
        }
        let first = Terminal.readUnechoed("New password for \(email): ")
        guard first == Terminal.readUnechoed("The same again: ") else { throw CommandFailure("the two passwords differ") }
        guard !first.isEmpty else { throw CommandFailure("no password given") }
        return first
    }
}

/// Questions on the operator's terminal (standard input), asked on standard error.
enum Terminal {
    static func confirm(_ question: String) -> Bool {
        FileHandle.standardError.write(Data(question.utf8))
        return ["yes", "y"].contains(readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? "")
    }

    static func readUnechoed(_ prompt: String) -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
