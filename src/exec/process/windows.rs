//! Windows: a suspended start, a Job Object with KILL_ON_JOB_CLOSE, `TerminateJobObject`,
//! and liveness through `OpenProcess` + `GetProcessTimes`.

use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{Receiver, channel};

use windows_sys::Win32::Foundation::{
    CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle, ERROR_ACCESS_DENIED, FILETIME,
    GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_BREAKAWAY_OK,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectExtendedLimitInformation, SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NO_WINDOW, CREATE_SUSPENDED, GetCurrentProcess, GetProcessTimes, INFINITE, OpenProcess,
    OpenThread, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
    ResumeThread, THREAD_SUSPEND_RESUME, TerminateProcess, WaitForSingleObject,
};

use super::{Probe, TERMINATE_CODE};

/// An owned kernel handle, closed on drop.
struct Handle(HANDLE);

// SAFETY: kernel handles may be used and closed from any thread.
unsafe impl Send for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.0.is_null() && self.0 != INVALID_HANDLE_VALUE {
            // SAFETY: we own this handle and close it exactly once.
            unsafe {
                CloseHandle(self.0);
            }
        }
    }
}

/// The Windows side of a [`super::ProcessTree`]: the job (when it could be formed) and the
/// process id for the no-job fallback.
pub(super) struct Tree {
    job: Option<Handle>,
    pid: u32,
}

fn create_job(allow_breakaway: bool) -> std::io::Result<Handle> {
    // SAFETY: null attributes (so the handle is not inheritable) and no name.
    let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if job.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    let job = Handle(job);
    // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid (no limits).
    let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    // By default the whole tree belongs to the job and dies with it. With `--allow-breakaway`
    // a child created with CREATE_BREAKAWAY_FROM_JOB leaves the job (Microsoft "Job Objects":
    // "If the job has the extended limit JOB_OBJECT_LIMIT_BREAKAWAY_OK and the parent process
    // was created with the CREATE_BREAKAWAY_FROM_JOB flag, the child is not associated with the
    // job"); without it, such a CreateProcess fails with access denied.
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        | if allow_breakaway { JOB_OBJECT_LIMIT_BREAKAWAY_OK } else { 0 };
    // SAFETY: `info` is the structure this information class expects, with its exact size.
    let ok = unsafe {
        SetInformationJobObject(
            job.0,
            JobObjectExtendedLimitInformation,
            (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(job)
}

pub(super) fn spawn(mut cmd: Command, allow_breakaway: bool) -> std::io::Result<(Child, Tree)> {
    let job = create_job(allow_breakaway)?;
    cmd.creation_flags(CREATE_SUSPENDED | CREATE_NO_WINDOW);
    let mut child = cmd.spawn()?;
    let pid = child.id();
    // SAFETY: both handles are valid: our job and the child's process handle.
    let assigned = unsafe { AssignProcessToJobObject(job.0, child.as_raw_handle() as HANDLE) };
    let job = if assigned == 0 {
        // Before Windows 8 a process already in a job cannot join another one. Run anyway:
        // timeouts then kill the main process only, and the warning says so.
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "could not put the task into a job object; a timeout will only kill its main process"
        );
        None
    } else {
        Some(job)
    };
    if let Err(e) = resume_threads(pid) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok((child, Tree { job, pid }))
}

/// Resumes every thread of a process created suspended (std gives no thread handle).
fn resume_threads(pid: u32) -> std::io::Result<()> {
    // SAFETY: a thread snapshot of the whole system; the handle is closed by `Handle`.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snap == INVALID_HANDLE_VALUE {
        return Err(std::io::Error::last_os_error());
    }
    let snap = Handle(snap);
    // SAFETY: THREADENTRY32 is plain data; dwSize is set as the API requires.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    let mut resumed = 0;
    // SAFETY: `snap` is a valid snapshot and `entry` a correctly sized out-parameter.
    let mut more = unsafe { Thread32First(snap.0, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: opening a thread of our own child by id.
            let t = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if !t.is_null() {
                let t = Handle(t);
                // SAFETY: `t` is a valid thread handle with THREAD_SUSPEND_RESUME access.
                if unsafe { ResumeThread(t.0) } != u32::MAX {
                    resumed += 1;
                }
            }
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snap.0, &mut entry) } != 0;
    }
    if resumed == 0 {
        return Err(std::io::Error::other(format!(
            "could not resume the main thread of process {pid}"
        )));
    }
    Ok(())
}

/// A thread that returns once the child has exited (the handle stays open, so the pid is not
/// reused until `Child::wait` and drop).
pub(super) fn watch_exit(child: &Child) -> std::io::Result<Receiver<()>> {
    let mut dup: HANDLE = std::ptr::null_mut();
    // SAFETY: duplicating our child's process handle within our own process.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            child.as_raw_handle() as HANDLE,
            GetCurrentProcess(),
            &mut dup,
            0,
            0,
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let dup = Handle(dup);
    let (tx, rx) = channel();
    std::thread::Builder::new().name("orc-wait".into()).spawn(move || {
        // SAFETY: `dup` is a valid process handle owned by this thread.
        unsafe {
            WaitForSingleObject(dup.0, INFINITE);
        }
        drop(dup);
        let _ = tx.send(());
    })?;
    Ok(rx)
}

impl Tree {
    pub(super) fn terminate_all(&mut self) {
        self.kill_all();
    }

    pub(super) fn kill_all(&mut self) {
        match &self.job {
            Some(job) => {
                // SAFETY: a valid job handle we own.
                unsafe {
                    TerminateJobObject(job.0, TERMINATE_CODE);
                }
            }
            None => {
                // SAFETY: opening and terminating our own child by pid; the child's handle is
                // still open in `Child`, so the pid has not been reused.
                unsafe {
                    let h = OpenProcess(PROCESS_TERMINATE, 0, self.pid);
                    if !h.is_null() {
                        let h = Handle(h);
                        TerminateProcess(h.0, TERMINATE_CODE);
                    }
                }
            }
        }
    }

    pub(super) fn release(&mut self) {
        // Closing the last handle of a KILL_ON_JOB_CLOSE job kills whatever is left in it.
        self.job = None;
    }
}

pub(super) fn start_token(pid: u32) -> Option<String> {
    match probe(pid) {
        Probe::Alive(t) => t,
        Probe::Gone => None,
    }
}

pub(super) fn probe(pid: u32) -> Probe {
    // SAFETY: opening a process by id for query and wait; the handle is closed by `Handle`.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE, 0, pid) };
    if h.is_null() {
        // SAFETY: reads the calling thread's last error.
        let err = unsafe { GetLastError() };
        // A process we may not open exists (another user's); anything else means gone.
        return if err == ERROR_ACCESS_DENIED { Probe::Alive(None) } else { Probe::Gone };
    }
    let h = Handle(h);
    // SAFETY: `h` is a valid process handle with SYNCHRONIZE access.
    if unsafe { WaitForSingleObject(h.0, 0) } == WAIT_OBJECT_0 {
        return Probe::Gone;
    }
    let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: valid handle and four FILETIME out-parameters.
    let ok = unsafe { GetProcessTimes(h.0, &mut created, &mut exited, &mut kernel, &mut user) };
    if ok == 0 {
        return Probe::Alive(None);
    }
    let ticks = (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime);
    Probe::Alive(Some(format!("win:{ticks}")))
}
