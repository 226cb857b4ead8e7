/**
 * The one-file agent is a small ESM loader around the CommonJS-bundled agent, kept as a string and
 * compiled with `vm.Script`: V8's code cache then saves the compile work of later runs (~80 ms of a
 * ~300 ms cold run here). Node 20 has no `module.enableCompileCache`.
 *
 * The cache (`$TMPDIR/instance-role-agent-<uid>/<sha256 of the code>-<node>-<arch>.v8`) is:
 * - written once, at exit, after the run compiled what it needed, atomically (temp file + rename);
 * - read only from a directory owned by the current user and closed to others (mode 0700), since its
 *   bytecode is trusted as is; anything unexpected means no cache, never a failure;
 * - not used when the code comes from stdin (`node --input-type=module -`, as `verifyOverSsh` runs
 *   it: nothing may be left behind), nor with `INSTANCE_ROLE_AGENT_NO_CACHE=1`.
 */
export function wrapOneFile(cjsCode: string): string {
  return `#!/usr/bin/env node
import{createRequire as __cr}from'node:module';import __vm from'node:vm';import __fs from'node:fs';import __os from'node:os';import __path from'node:path';import{createHash as __hash}from'node:crypto';
const __code=${JSON.stringify(`(function(exports,require,module,__filename,__dirname){${cjsCode}\n})`)};
${LOADER}
`;
}

const LOADER = `const __cache=(()=>{
if(process.env.INSTANCE_ROLE_AGENT_NO_CACHE==='1'||process.argv[1]==='-'||import.meta.url.includes('[eval')||typeof process.getuid!=='function')return null;
try{
const dir=__path.join(__os.tmpdir(),'instance-role-agent-'+process.getuid());
const file=__path.join(dir,__hash('sha256').update(__code).digest('hex').slice(0,32)+'-'+process.version+'-'+process.arch+'.v8');
const safe=()=>{const s=__fs.lstatSync(dir);return s.isDirectory()&&s.uid===process.getuid()&&(s.mode&0o077)===0;};
let data;try{if(safe())data=__fs.readFileSync(file);}catch{}
return{dir,file,safe,data};
}catch{return null;}
})();
const __script=new __vm.Script(__code,{filename:'instance-role-agent.cjs',cachedData:__cache?.data});
if(__cache&&(!__cache.data||__script.cachedDataRejected))process.once('exit',()=>{try{
try{__fs.mkdirSync(__cache.dir,{mode:0o700});}catch{}
if(!__cache.safe())return;
const tmp=__cache.file+'.'+process.pid+'.tmp';
try{__fs.writeFileSync(tmp,__script.createCachedData(),{mode:0o600});__fs.renameSync(tmp,__cache.file);}catch{__fs.rmSync(tmp,{force:true});}
}catch{}});
const __module={exports:{}};
__script.runInThisContext()(__module.exports,__cr(import.meta.url),__module,'instance-role-agent.cjs','.');`;
