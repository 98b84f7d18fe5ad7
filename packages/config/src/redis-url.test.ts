import { describe, expect, it } from 'vitest';
import { isRedisUrl, parseRedisUrl, redisConnectionFromUrl, redisUrlForm } from './redis-url.js';

const options = (url: string): unknown => redisConnectionFromUrl(url).options;

describe('redisConnectionFromUrl', () => {
  it('passes plain and TLS URLs to ioredis as they are', () => {
    expect(options('redis://127.0.0.1:6379/1')).toBe('redis://127.0.0.1:6379/1');
    expect(options('rediss://user:pw@redis.example:6380')).toBe('rediss://user:pw@redis.example:6380');
  });

  it('reads Sentinel URLs: sentinels, master name, password, db, TLS; follows a failover at once', () => {
    expect(options('redis+sentinel://:s%40cret@10.0.0.1:26380,10.0.0.2/mymaster?db=3')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26380 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      password: 's@cret',
      sentinelPassword: 's@cret',
      db: 3,
      failoverDetector: true,
      reconnectOnError: expect.any(Function),
    });
    const { reconnectOnError } = options('redis+sentinel://s1/m') as {
      reconnectOnError: (e: Error) => unknown;
    };
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(reconnectOnError(new Error('WRONGTYPE Operation against a key'))).toBe(false);
    expect(options('rediss+sentinel://s1:26379/primary')).toMatchObject({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'primary',
      tls: {},
      enableTLSForSentinelMode: true,
    });
  });

  it('reads Cluster URLs into seed nodes and per-node password, user and TLS', () => {
    expect(redisConnectionFromUrl('redis+cluster://:s%40cret@10.0.0.1:7000,10.0.0.2')).toEqual({
      cluster: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
      ],
      options: { redisOptions: { password: 's@cret' } },
    });
    expect(redisConnectionFromUrl('rediss+cluster://u:p@c1:7000/')).toEqual({
      cluster: true,
      nodes: [{ host: 'c1', port: 7000 }],
      options: { redisOptions: { username: 'u', password: 'p', tls: {} } },
    });
    expect(redisConnectionFromUrl('redis://127.0.0.1:6379').cluster).toBe(false);
  });
});

/** Each URL is refused: no target, not a usable REDIS_URL, and no exception. */
function expectRefused(urls: string[]): void {
  for (const url of urls) {
    expect(parseRedisUrl(url), url).toBeUndefined();
    expect(isRedisUrl(url), url).toBe(false);
  }
}

describe('parseRedisUrl', () => {
  it('tells a plain server, a TLS server, a Sentinel master and a Cluster apart', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'plain', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('rediss://redis.example:6380')).toEqual({
      kind: 'tls',
      url: 'rediss://redis.example:6380',
    });
    expect(parseRedisUrl('rediss+sentinel://u:p@s1,s2:26380/main?db=2')).toEqual({
      kind: 'sentinel',
      tls: true,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'main',
      username: 'u',
      password: 'p',
      db: 2,
    });
    expect(parseRedisUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001')).toEqual({
      kind: 'cluster',
      tls: false,
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
    });
  });

  it('refuses other schemes, unknown topologies, a Sentinel URL without a master name and blanks', () => {
    expectRefused([
      'http://127.0.0.1:6379',
      'redis+constructor://x/y',
      'redis+sentinel://s1:26379',
      'redis://',
      'redis://host name:6379',
      'redis+sentinel://s1:26379/main\n',
    ]);
  });

  it('refuses, without throwing, a Sentinel URL with bad percent-encoding, a port that is no port or a bad db', () => {
    expectRefused([
      'redis+sentinel://:%ZZ@s1:26379/main',
      'redis+sentinel://s1:26379/ma%E0in',
      'redis+sentinel://s1:abc/main',
      'redis+sentinel://s1:70000/main',
      'redis+sentinel://s1:26379/main?db=x',
      'redis+sentinel://s1:26379,,s2/main',
    ]);
  });

  it('refuses a Cluster URL with a database, a query, a blank or bad node, bad encoding or a newline', () => {
    expectRefused([
      'redis+cluster://',
      'redis+cluster://a:7000/0',
      'redis+cluster://a:7000?db=1',
      'redis+cluster://a:7000,,b:7001',
      'redis+cluster://a:7000,:7001',
      'redis+cluster://a:70000',
      'redis+cluster://a:7000x',
      'redis+cluster://a:',
      'redis+cluster://:%ZZ@a:7000',
      'redis+cluster://a:7000\n',
      'redis+cluster://a b:7000',
      'redis+cluster://::1:7000',
      'redis+cluster://[::1',
      'redis+cluster://[a-b]:7000',
      'redis+cluster://a:0',
    ]);
  });

  it('takes IPv6 nodes in brackets and hands ioredis the bare address, with the default port when none is given', () => {
    expect(parseRedisUrl('redis+cluster://[::1]:7000,[fd00::2]')).toEqual({
      kind: 'cluster',
      tls: false,
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'fd00::2', port: 6379 },
      ],
    });
    expect(parseRedisUrl('redis+sentinel://[::1]/main')).toMatchObject({
      sentinels: [{ host: '::1', port: 26379 }],
    });
  });
});

describe('redisUrlForm', () => {
  it("names the form of the URL's topology, so a bad one is refused with the right hint", () => {
    expect(redisUrlForm('redis+cluster://a:b:c')).toBe('redis+cluster://[:password@]host:port[,host:port…]');
    expect(redisUrlForm('rediss+sentinel://x')).toMatch(/^redis\+sentinel:\/\//);
    expect(redisUrlForm('redis+constructor://x')).toBeUndefined();
    expect(redisUrlForm('redis://x')).toBeUndefined();
  });
});
