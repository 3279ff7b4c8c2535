module otrace/bench/wrk2-hdr/stallserver

go 1.22
