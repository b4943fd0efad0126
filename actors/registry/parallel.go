package registry

import (
	"runtime"
	"sync"
)

// onEveryCore calls f(i) for each i in 0..n-1 on one goroutine per core and
// returns when all have returned: slow work (bcrypt, signing) off the
// owner, on every core.
func onEveryCore(n int, f func(i int)) {
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}
