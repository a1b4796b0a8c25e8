/// A catalog's `Plural-Forms` expression (`nplurals=3; plural=(n==1) ? 0 : …;`), evaluated for a
/// count. The expression is gettext's C subset: `n`, integers, `! * / % + - < <= > >= == != && || ?:`
/// and parentheses; hand-written for the same reason as the `.po` reader.
struct PluralRule: Sendable {
    let count: Int
    private let expression: Node

    /// `Plural-Forms: nplurals=1; plural=0;`: one form (Chinese, Korean).
    static let single = PluralRule(count: 1, expression: .number(0))
    /// English's rule, for the catalog without a header and the msgids themselves.
    static let english = PluralRule(count: 2, expression: .binary("!=", .n, .number(1)))

    private init(count: Int, expression: Node) {
        self.count = count
        self.expression = expression
    }

    /// Parses the header value; nil when it is malformed.
    init?(header: String) {
        var nplurals: Int?
        var plural: String?
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "nplurals" { nplurals = Int(pair[1]) }
            if pair[0] == "plural" { plural = pair[1] }
        }
        guard let nplurals, (1...6).contains(nplurals), let plural else { return nil }
        var parser = ExpressionParser(tokens: ExpressionParser.tokenize(plural))
        guard let node = parser.parseTernary(), parser.atEnd else { return nil }
        self.init(count: nplurals, expression: node)
    }

    /// The index of the `msgstr[i]` that `n` takes, clamped to the forms there are.
    func index(for n: Int) -> Int { min(max(expression.evaluate(n), 0), count - 1) }

    private indirect enum Node: Sendable {
        case n
        case number(Int)
        case not(Node)
        case binary(String, Node, Node)
        case ternary(Node, Node, Node)

        func evaluate(_ n: Int) -> Int {
            switch self {
            case .n: return n
            case .number(let value): return value
            case .not(let operand): return operand.evaluate(n) == 0 ? 1 : 0
            case .ternary(let condition, let yes, let no): return condition.evaluate(n) != 0 ? yes.evaluate(n) : no.evaluate(n)
            case .binary(let op, let lhs, let rhs):
                let a = lhs.evaluate(n), b = rhs.evaluate(n)
                switch op {
                case "*": return a * b
                case "/": return b == 0 ? 0 : a / b
                case "%": return b == 0 ? 0 : a % b
                case "+": return a + b
                case "-": return a - b
                case "<": return a < b ? 1 : 0
                case "<=": return a <= b ? 1 : 0
                case ">": return a > b ? 1 : 0
                case ">=": return a >= b ? 1 : 0
                case "==": return a == b ? 1 : 0
                case "!=": return a != b ? 1 : 0
                case "&&": return a != 0 && b != 0 ? 1 : 0
                default: return a != 0 || b != 0 ? 1 : 0
                }
            }
        }
    }

    /// Recursive descent by C precedence: `?:`, `||`, `&&`, equality, relational, additive, multiplicative, unary.
    private struct ExpressionParser {
        var tokens: [String]
        var position = 0
        var atEnd: Bool { position == tokens.count }

        static func tokenize(_ text: String) -> [String] {
            var tokens: [String] = []
            var characters = Array(text)
            characters.removeAll { $0 == " " || $0 == "\t" }
            var i = 0
            while i < characters.count {
                let c = characters[i]
                if c.isNumber {
                    var j = i
                    while j < characters.count, characters[j].isNumber { j += 1 }
                    tokens.append(String(characters[i..<j])); i = j
                } else if i + 1 < characters.count, ["<=", ">=", "==", "!=", "&&", "||"].contains(String(characters[i...i + 1])) {
                    tokens.append(String(characters[i...i + 1])); i += 2
                } else {
                    tokens.append(String(c)); i += 1
                }
            }
            return tokens
        }

        private var next: String? { position < tokens.count ? tokens[position] : nil }

        private mutating func take(_ token: String) -> Bool {
            guard next == token else { return false }
            position += 1
            return true
        }

        mutating func parseTernary() -> Node? {
            guard let condition = parseBinary(level: 0) else { return nil }
            guard take("?") else { return condition }
            guard let yes = parseTernary(), take(":"), let no = parseTernary() else { return nil }
            return .ternary(condition, yes, no)
        }

        private static let levels: [[String]] = [["||"], ["&&"], ["==", "!="], ["<", "<=", ">", ">="], ["+", "-"], ["*", "/", "%"]]

        private mutating func parseBinary(level: Int) -> Node? {
            guard level < Self.levels.count else { return parseUnary() }
            guard var lhs = parseBinary(level: level + 1) else { return nil }
            while let op = next, Self.levels[level].contains(op) {
                position += 1
                guard let rhs = parseBinary(level: level + 1) else { return nil }
                lhs = .binary(op, lhs, rhs)
            }
            return lhs
        }

        private mutating func parseUnary() -> Node? {
            if take("!") { return parseUnary().map(Node.not) }
            if take("(") {
                guard let inner = parseTernary(), take(")") else { return nil }
                return inner
            }
            if take("n") { return .n }
            if let token = next, let value = Int(token) { position += 1; return .number(value) }
            return nil
        }
    }
}
