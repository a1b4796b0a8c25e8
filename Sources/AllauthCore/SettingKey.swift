/// One configuration key, declared once beside the settings type that reads it: its name
/// (`section.key`), its default as operators see it, and what it means. `ConfigReader` reads only
/// declared keys and records them, so the table in docs/configuration.md ("Every key"), printed by
/// `jwt-allauth config-reference` from the keys a parse reads, cannot miss one.
package struct SettingKey: Sendable {
    package let name: String
    /// Markdown for the table's "default" column (`` `30m` ``, "built-in page", …).
    package let shownDefault: String
    /// Markdown for the table's "meaning" column.
    package let meaning: String
    /// The row this key shares with others (`mail.smtp_host`, `mail.smtp_port`), or nil: a row of its own.
    package let row: SettingRow?

    package init(_ name: String, default shownDefault: String, _ meaning: String) {
        self.name = name
        self.shownDefault = shownDefault
        self.meaning = meaning
        self.row = nil
    }

    /// A key documented in a row it shares with others; `name` must match one of the row's names.
    package init(_ name: String, in row: SettingRow) {
        self.name = name
        self.shownDefault = row.shownDefault
        self.meaning = row.meaning
        self.row = row
    }

    /// `JWT_ALLAUTH_<SECTION>_<KEY>`.
    package var environmentName: String { ConfigReader.environmentName(name) }
}

/// One row of the reference table documenting several keys at once: a pair read together
/// (`mail.retry_delay`, `mail.retry_max_delay`) or a family (`cookies.password_reset_*`).
package struct SettingRow: Sendable, Equatable {
    /// As the table shows them; a trailing `*` stands for any suffix.
    package let names: [String]
    package let shownDefault: String
    package let meaning: String

    package init(_ names: [String], default shownDefault: String, _ meaning: String) {
        self.names = names
        self.shownDefault = shownDefault
        self.meaning = meaning
    }

    package func covers(_ key: String) -> Bool {
        names.contains { $0.hasSuffix("*") ? key.hasPrefix($0.dropLast()) : key == $0 }
    }
}

/// The Markdown table of a list of keys, in their order: one row per key, or per shared row.
package enum SettingTable {
    package static func markdown(_ keys: [SettingKey]) -> String {
        var lines = ["| key | default | meaning |", "|---|---|---|"]
        var rowsShown: [SettingRow] = []
        for key in keys {
            if let row = key.row {
                if rowsShown.contains(row) { continue }
                rowsShown.append(row)
                lines.append(line(row.names, row.shownDefault, row.meaning))
            } else {
                lines.append(line([key.name], key.shownDefault, key.meaning))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func line(_ names: [String], _ shownDefault: String, _ meaning: String) -> String {
        "| " + names.map { "`\($0)`" }.joined(separator: ", ") + " | \(shownDefault) | " + (meaning.isEmpty ? "|" : "\(meaning) |")
    }
}
