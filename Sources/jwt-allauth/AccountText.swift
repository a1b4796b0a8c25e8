import AllauthCore
import AllauthDomain

/// How the account commands print accounts and sessions: aligned text for a person, JSON for a script.
/// Text from the rows (addresses, names, providers' ids, devices) goes through `printable` first: an
/// imported or provider-given name must not move the operator's cursor or recolour the terminal.
enum AccountText {
    /// `text` with control characters and bidirectional overrides shown as U+FFFD.
    static func printable(_ text: String) -> String {
        let bidi: ClosedRange<UInt32> = 0x202A...0x202E, isolates: ClosedRange<UInt32> = 0x2066...0x2069
        return String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control || bidi.contains($0.value) || isolates.contains($0.value) ? "\u{FFFD}" : $0
        }))
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = ([header] + rows).map { $0.map(printable) }
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// One session on one line (`sessions`, `users show`).
    static func session(_ session: SessionSummary) -> String {
        let device = session.device.map { "\($0.browser) \($0.browserVersion) on \($0.os) \($0.osVersion)" } ?? "-"
        return printable("\(session.session)  opened \(HTTPDate.iso8601(session.created))  last used \(HTTPDate.iso8601(session.lastRotated))  "
                         + "ip \(session.ip ?? "-")  \(device)")
    }

    static func describe(_ details: AccountAdministration.Details) -> String {
        let account = details.account
        let name = [account.firstName, account.lastName].filter { !$0.isEmpty }.joined(separator: " ")
        var mfa = details.hasTOTP ? "TOTP" : "none"
        if let left = details.recoveryCodesLeft { mfa += ", \(left) recovery code(s) left" }
        var lines = [
            "account \(account.id) <\(account.email)>",
            "  name:        \(name.isEmpty ? "-" : name)",
            "  role:        \(Role.describe(account.role))",
            "  active:      \(account.isActive ? "yes" : "no (deactivated)")",
            "  address:     \(account.email) (\(account.emailVerified ? "verified" : "not verified"))",
            "  password:    \(account.hasUsablePassword ? "set" : "none (invited, social-only or never set)")",
            "  joined:      \(HTTPDate.iso8601(account.dateJoined))",
            "  last login:  \(account.lastLogin.map(HTTPDate.iso8601) ?? "never")",
            "  mfa:         \(mfa)",
            "  social:      \(details.socialAccounts.isEmpty ? "none" : details.socialAccounts.map { "\($0.provider) (uid \($0.uid))" }.joined(separator: ", "))",
            "  links:       \(details.outstandingLinks.isEmpty ? "none" : details.outstandingLinks.map(\.rawValue).joined(separator: ", "))",
            "  sessions:    \(details.sessions.count) open",
        ]
        lines = lines.map(printable) + details.sessions.map { "    " + session($0) }
        return lines.joined(separator: "\n")
    }

    static func json(_ account: UserRecord) -> JSON {
        .object([
            ("id", .number(Double(account.id))), ("email", .string(account.email)),
            ("first_name", .string(account.firstName)), ("last_name", .string(account.lastName)),
            ("role", .number(Double(account.role))), ("role_name", Role.names.first { $0.code == account.role }.map { .string($0.name) } ?? .null),
            ("is_active", .bool(account.isActive)), ("email_verified", .bool(account.emailVerified)),
            ("has_usable_password", .bool(account.hasUsablePassword)),
            ("date_joined", .string(HTTPDate.iso8601(account.dateJoined))), ("last_login", account.lastLogin.map { .string(HTTPDate.iso8601($0)) } ?? .null),
        ])
    }

    static func json(_ details: AccountAdministration.Details) -> JSON {
        guard case .object(var members) = json(details.account) else { return .null }
        members += [
            ("mfa", .object([("totp", .bool(details.hasTOTP)), ("recovery_codes_left", details.recoveryCodesLeft.map { .number(Double($0)) } ?? .null)])),
            ("social_accounts", .array(details.socialAccounts.map { .object([
                ("provider", .string($0.provider)), ("uid", .string($0.uid)),
                ("date_joined", .string(HTTPDate.iso8601($0.dateJoined))), ("last_login", .string(HTTPDate.iso8601($0.lastLogin))),
            ]) })),
            ("outstanding_links", .array(details.outstandingLinks.map { .string($0.rawValue) })),
            ("sessions", .array(details.sessions.map { .object([
                ("session", .string($0.session)), ("opened", .string(HTTPDate.iso8601($0.created))),
                ("last_used", .string(HTTPDate.iso8601($0.lastRotated))), ("ip", $0.ip.map { .string($0) } ?? .null),
            ]) })),
        ]
        return .object(members)
    }
}
