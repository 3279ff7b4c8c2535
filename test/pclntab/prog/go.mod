module example.com/pclntabprobe

go 1.19
