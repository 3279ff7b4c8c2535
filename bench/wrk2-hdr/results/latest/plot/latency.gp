set terminal pngcairo size 1280,800 font 'sans,12'
set output '../latency.png'
set title "Latency by percentile at 5800 req/s, 3 round(s) of 60 s per configuration (wrk2hdr, corrected for coordinated omission)"
set logscale x
set xrange [1:1000000]
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000, "99.9999%%" 1000000)
set xlabel 'percentile'
set ylabel 'latency (ms)'
set yrange [0:*]
set grid xtics ytics
set key below horizontal
set border 3
set tics nomirror
plot 'latency-none-r1.dat' using 1:2 with lines lw 2 lc rgb '#333333' title 'none (medians: p99.9 1.83, max 9.67 ms)', \
     'latency-none-r2.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r3.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-manual-r1.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' title 'manual (medians: p99.9 7.37, max 10.28 ms)', \
     'latency-manual-r2.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r3.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-otrace-r1.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' title 'otrace (medians: p99.9 1.65, max 16.85 ms)', \
     'latency-otrace-r2.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r3.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-entry-ret-r1.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' title 'entry-ret (medians: p99.9 1.45, max 9.11 ms)', \
     'latency-entry-ret-r2.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r3.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle
set output '../latency-logy.png'
set logscale y
set yrange [*:*]
set ylabel 'latency (ms, log scale)'
plot 'latency-none-r1.dat' using 1:2 with lines lw 2 lc rgb '#333333' title 'none (medians: p99.9 1.83, max 9.67 ms)', \
     'latency-none-r2.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r3.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-manual-r1.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' title 'manual (medians: p99.9 7.37, max 10.28 ms)', \
     'latency-manual-r2.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r3.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-otrace-r1.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' title 'otrace (medians: p99.9 1.65, max 16.85 ms)', \
     'latency-otrace-r2.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r3.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-entry-ret-r1.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' title 'entry-ret (medians: p99.9 1.45, max 9.11 ms)', \
     'latency-entry-ret-r2.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r3.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle
