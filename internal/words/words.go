// Package words writes counts the way a sentence needs them: "1 request",
// "2 requests".
package words

import "fmt"

// Count is n and the noun in the form n needs: Count(1, "request",
// "requests") is "1 request", Count(3, ...) "3 requests".
func Count(n int, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
