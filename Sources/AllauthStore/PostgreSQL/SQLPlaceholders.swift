/// The store's SQL uses SQLite's `?` placeholders; PostgreSQL numbers them (`$1`, `$2`, …).
/// Rewritten once per statement text, when the statement is prepared. A `?` inside a quoted
/// literal or identifier is left alone (our SQL has none, but a rewriter that broke one would be
/// a trap for the next statement written).
enum SQLPlaceholders {
    static func numbered(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                output.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                output.append(character)
            } else if character == "?" {
                number += 1
                output += "$\(number)"
            } else {
                output.append(character)
            }
        }
        return output
    }
}
