module otrace.bench/cost

go 1.21
