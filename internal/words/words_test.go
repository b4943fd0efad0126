package words_test

import (
	"fmt"

	"github.com/evcharging/evsim/internal/words"
)

func ExampleCount() {
	for _, n := range []int{0, 1, 2} {
		fmt.Println(words.Count(n, "charge point", "charge points"))
	}
	// Output:
	// 0 charge points
	// 1 charge point
	// 2 charge points
}
