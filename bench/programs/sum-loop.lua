-- sum-loop — the sum of 0 .. 10^7-1 in a while loop: a tight loop
local i = 0
local acc = 0
while i < 10000000 do
  acc = acc + i
  i = i + 1
end
print(acc)
