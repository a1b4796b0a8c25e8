import AllauthDomain
import ArgumentParser
import Foundation

/// `jwt-allauth config-reference`: the key tables of docs/configuration.md, from the keys the
/// configuration declares (`ConfigReference`). `--update FILE` rewrites them in place.
struct ConfigReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference",
        abstract: "Print the configuration keys as Markdown tables, or rewrite them in docs/configuration.md."
    )

    @Option(help: "A document whose generated tables to rewrite in place (docs/configuration.md).")
    var update: String?

    func run() throws {
        guard let update else {
            for table in ConfigReference.tables() {
                print(ConfigReference.beginLine(table))
                print(table.markdown, terminator: "")
                print(ConfigReference.endMarker)
                print()
            }
            return
        }
        let document = try String(contentsOfFile: update, encoding: .utf8)
        let updated = try ConfigReference.updated(document)
        if updated == document {
            print("\(update): up to date")
        } else {
            try updated.write(toFile: update, atomically: true, encoding: .utf8)
            print("\(update): tables rewritten")
        }
    }
}
