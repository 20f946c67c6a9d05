--[[ End a supervisor's own wait for work: its BZPOPMIN blocks on the queue's marker and on this
  key, so a member here makes it return; the turn sent behind it then runs as usual. The key
  expires on its own in case no wait was blocked to take the member.
  KEYS[1]  the supervisor's wake key for the queue
  ARGV[1]  how long the key may live, ms
  Returns  1
]]
redis.call('ZADD', KEYS[1], 0, 'wake')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
