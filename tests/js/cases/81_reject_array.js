// expect: sip
// ScriptForge legacy rejection returned directly from main, after some work on the data.
function main(data) {
  data.headers.push({ key: 'X-Never', value: 'sent' });
  if (data.routing.method === 'INVITE' && data.routing.transport === 'udp') {
    return Promise.reject([486, 'Busy Here']);
  }
  return data;
}
